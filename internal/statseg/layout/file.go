package layout

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxFileSegment bounds what ReadFile decompresses (a gzip bomb is not a
// stats segment).
const maxFileSegment = 4 << 30

// ReadFile returns the bytes of a segment saved in a file (a capture, or
// `vppstat capture`), gunzipped if its name ends in .gz.
func ReadFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("segment file: %w", err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("segment file %s: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxFileSegment+1))
	if err != nil {
		return nil, fmt.Errorf("segment file %s: %w", path, err)
	}
	if len(data) > maxFileSegment {
		return nil, fmt.Errorf("segment file %s: more than %d bytes uncompressed: not a stats segment", path, maxFileSegment)
	}
	return data, nil
}
