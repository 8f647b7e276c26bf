package conformance

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// testTypes round-trips every attribute type and checks DynamoDB's number
// canonical form and value validation.
func testTypes(t *testing.T, s *suite) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		all := item{
			"pk":     str("all"),
			"s":      str("héllo, 世界 \t \"quoted\" \\ <>&"),
			"n":      ni(42),
			"b":      b([]byte{0, 1, 2, 0xfe, 0xff}),
			"bool_t": bl(true),
			"bool_f": bl(false),
			"null":   null(),
			"m": m(item{"nested": m(item{"deep": l(ni(1), str("two"), bl(false), null())}),
				"empty": m(nil), "s": str("x")}),
			"l":       l(str("a"), ni(1), b([]byte("raw")), l(), m(item{"k": ss("v")})),
			"empty_l": l(),
			"empty_m": m(nil),
			"ss":      ss("b", "a", "c"),
			"ns":      ns("3", "1", "-2.5"),
			"bs":      bs([]byte{1}, []byte{2, 3}, []byte{0xff}),
		}
		s.put(t, table, all)
		wantItem(t, "GetItem(every type)", s.get(t, table, pk("all")), all)
	})

	t.Run("NumberCanonical", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		for _, tc := range []struct{ in, want string }{
			{"0", "0"},
			{"1", "1"},
			{"-1", "-1"},
			{"1.50", "1.5"},
			{"1.0", "1"},
			{"0012", "12"},
			{"-012.3400", "-12.34"},
			{"0.5", "0.5"},
			{"100", "100"},
			{"1e2", "100"},
			{"1.5E3", "1500"},
			{"1234.5e-2", "12.345"},
			{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
			{"-12345678901234567890123456789012345678", "-12345678901234567890123456789012345678"},
			{"0.12345678901234567890123456789012345678", "0.12345678901234567890123456789012345678"},
			{"123456789012345678901234567890123456780000", "123456789012345678901234567890123456780000"},
			{"9.9999999999999999999999999999999999999E+20", "999999999999999999999.99999999999999999"},
		} {
			s.put(t, table, item{"pk": str("n" + tc.in), "n": n(tc.in), "set": ns(tc.in, "99")})
			got := s.get(t, table, pk("n"+tc.in))
			if v, ok := got["n"].(*types.AttributeValueMemberN); !ok || v.Value != tc.want {
				t.Errorf("N %q stored as %s, want %s", tc.in, render(got["n"]), tc.want)
			}
			wantItem(t, "NS containing "+tc.in, item{"set": got["set"]}, item{"set": ns(tc.want, "99")})
		}
	})

	t.Run("NumberInvalid", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		for _, in := range []string{
			"",
			"abc",
			"1.2.3",
			"NaN",
			"Infinity",
			"0x10",
			"1e",
			// 39 significant digits.
			"123456789012345678901234567890123456789",
			"1.23456789012345678901234567890123456789",
			// Outside 1E-130 ... 9.99E+125 in magnitude.
			"1E+126",
			"-1E+126",
			"1E-131",
		} {
			_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item{"pk": str("x"), "n": n(in)}})
			if errorCode(err) != "ValidationException" {
				t.Errorf("PutItem(N %q) error = %v, want ValidationException", in, err)
			}
		}
		// The extremes of the range are accepted.
		for _, in := range []string{"9.9999999999999999999999999999999999999E+125", "1E-130", "-1E-130"} {
			_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item{"pk": str(in), "n": n(in)}})
			if err != nil {
				t.Errorf("PutItem(N %q) error = %v, want success", in, err)
			}
		}
		wantItem(t, "GetItem() after refused numbers", s.get(t, table, pk("x")), nil)
	})

	t.Run("SetInvalid", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		for _, tc := range []struct {
			name string
			v    types.AttributeValue
		}{
			{"EmptySS", ss()},
			{"EmptyNS", ns()},
			{"EmptyBS", bs()},
			{"DuplicateSS", ss("a", "a")},
			{"DuplicateNS", ns("1", "2", "1")},
			{"DuplicateBS", bs([]byte{1}, []byte{1})},
			// Numbers equal in value are the same set member.
			{"DuplicateNSCanonical", ns("1.5", "1.50")},
		} {
			_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item{"pk": str("x"), "v": tc.v}})
			if errorCode(err) != "ValidationException" {
				t.Errorf("PutItem(%s) error = %v, want ValidationException", tc.name, err)
			}
		}
	})

	t.Run("LongString", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		// Key values are limited (2048 bytes for a partition key, 1024
		// for a sort key); other strings only by the item size.
		long := strings.Repeat("k", 2048)
		s.put(t, table, item{"pk": str(long), "v": str(strings.Repeat("z", 100_000))})
		got := s.get(t, table, pk(long))
		if v, ok := got["v"].(*types.AttributeValueMemberS); !ok || len(v.Value) != 100_000 {
			t.Errorf("GetItem(2048-byte key) did not return the 100 KB value")
		}
		_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: pk(long + "x")})
		wantValidation(t, "PutItem(2049-byte partition key)", err)

		rng := s.rangeTable(t, types.ScalarAttributeTypeS)
		s.put(t, rng, pksk("p", str(strings.Repeat("r", 1024))))
		_, err = s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(rng), Item: pksk("p", str(strings.Repeat("r", 1025)))})
		wantValidation(t, "PutItem(1025-byte sort key)", err)

		s.skipDynalite(t, "key sizes are counted in UTF-16 code units, not UTF-8 bytes")
		_, err = s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: pk(strings.Repeat("é", 1025))})
		wantValidation(t, "PutItem(2050-byte UTF-8 partition key)", err)
	})
}
