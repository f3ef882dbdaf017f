package circuits

import (
	"os"
	"strings"
	"testing"
)

// The settlement packing is shared with the escrow; the README pins it.
func TestReadmePinsThePacking(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	for _, field := range []string{"domainSeparator", "verifierId", "notAfter", "fromNonce", "toNonce", "total"} {
		if !strings.Contains(string(readme), field) {
			t.Errorf("README.md does not document %q in the packing", field)
		}
	}
}
