package convertor

// PageLimit applies the page-size rule of every paged list: 0 means
// DefaultPageSize, and a negative size or one above MaxPageSize is refused
// with EInvalid (param "limit") rather than silently cut, so a caller
// asking for more than it can get learns why.
func PageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultPageSize, nil
	case limit < 0 || limit > MaxPageSize:
		return 0, ParamErrorf("limit", "limit must be between 1 and %d", MaxPageSize)
	}
	return limit, nil
}
