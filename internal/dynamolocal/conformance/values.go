package conformance

import (
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Short builders keep items readable in tables of cases.

func str(v string) types.AttributeValue   { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue     { return &types.AttributeValueMemberN{Value: v} }
func ni(v int) types.AttributeValue       { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }
func b(v []byte) types.AttributeValue     { return &types.AttributeValueMemberB{Value: v} }
func bl(v bool) types.AttributeValue      { return &types.AttributeValueMemberBOOL{Value: v} }
func null() types.AttributeValue          { return &types.AttributeValueMemberNULL{Value: true} }
func ss(v ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }
func ns(v ...string) types.AttributeValue { return &types.AttributeValueMemberNS{Value: v} }
func bs(v ...[]byte) types.AttributeValue { return &types.AttributeValueMemberBS{Value: v} }
func l(v ...types.AttributeValue) types.AttributeValue {
	if v == nil {
		v = []types.AttributeValue{}
	}
	return &types.AttributeValueMemberL{Value: v}
}
func m(v map[string]types.AttributeValue) types.AttributeValue {
	if v == nil {
		v = map[string]types.AttributeValue{}
	}
	return &types.AttributeValueMemberM{Value: v}
}

// item is an attribute map; the alias keeps case tables short.
type item = map[string]types.AttributeValue

// pk is the key of an item in a hash-only table.
func pk(v string) item { return item{"pk": str(v)} }

// pksk is the key of an item in a table with an S partition key "pk" and
// sort key "sk".
func pksk(p string, sk types.AttributeValue) item { return item{"pk": str(p), "sk": sk} }

// render writes an attribute value as canonical text: DynamoDB's JSON
// shape with set members sorted, because DynamoDB does not keep set order.
// Comparing rendered items gives exact, readable diffs without teaching
// go-cmp about the SDK's union types.
func render(v any) string {
	var sb strings.Builder
	writeValue(&sb, v)
	return sb.String()
}

func writeValue(sb *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		sb.WriteString("<nil>")
	case map[string]types.AttributeValue:
		if v == nil {
			sb.WriteString("<nil>")
			return
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(sb, "%q:", k)
			writeValue(sb, v[k])
		}
		sb.WriteByte('}')
	case *types.AttributeValueMemberS:
		fmt.Fprintf(sb, "{S:%q}", v.Value)
	case *types.AttributeValueMemberN:
		fmt.Fprintf(sb, "{N:%s}", v.Value)
	case *types.AttributeValueMemberB:
		fmt.Fprintf(sb, "{B:%s}", base64.StdEncoding.EncodeToString(v.Value))
	case *types.AttributeValueMemberBOOL:
		fmt.Fprintf(sb, "{BOOL:%t}", v.Value)
	case *types.AttributeValueMemberNULL:
		fmt.Fprintf(sb, "{NULL:%t}", v.Value)
	case *types.AttributeValueMemberM:
		sb.WriteString("{M:")
		writeValue(sb, v.Value)
		sb.WriteByte('}')
	case *types.AttributeValueMemberL:
		sb.WriteString("{L:[")
		for i, e := range v.Value {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeValue(sb, e)
		}
		sb.WriteString("]}")
	case *types.AttributeValueMemberSS:
		writeSet(sb, "SS", v.Value, strconv.Quote)
	case *types.AttributeValueMemberNS:
		writeSet(sb, "NS", v.Value, func(s string) string { return s })
	case *types.AttributeValueMemberBS:
		texts := make([]string, len(v.Value))
		for i, e := range v.Value {
			texts[i] = base64.StdEncoding.EncodeToString(e)
		}
		writeSet(sb, "BS", texts, func(s string) string { return s })
	default:
		fmt.Fprintf(sb, "<%T>", v)
	}
}

func writeSet(sb *strings.Builder, kind string, members []string, format func(string) string) {
	sorted := slices.Clone(members)
	sort.Strings(sorted)
	fmt.Fprintf(sb, "{%s:[", kind)
	for i, e := range sorted {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(format(e))
	}
	sb.WriteString("]}")
}

// renderAll renders each item, keeping order: for Query results, where
// DynamoDB's order is part of the contract.
func renderAll(items []item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = render(it)
	}
	return out
}

// renderSorted renders each item and sorts the texts: for Scan and batch
// results, whose order DynamoDB leaves unspecified.
func renderSorted(items []item) []string {
	out := renderAll(items)
	sort.Strings(out)
	return out
}

// wantItem fails the test unless got is exactly want (both may be nil).
func wantItem(t *testing.T, what string, got, want item) {
	t.Helper()
	if diff := cmp.Diff(render(want), render(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, diff)
	}
}

// wantItems fails the test unless got and want render identically.
func wantItems(t *testing.T, what string, got, want []string) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, diff)
	}
}
