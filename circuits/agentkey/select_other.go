//go:build purego || !amd64

package agentkey

import "unsafe"

// selectAddend sets out = table[idx] for idx < n (else zero), reading all n
// entries whatever idx is.
func selectAddend(out *affineAddend, table *affineAddend, n int, idx uint64) {
	selectAddendGeneric(out, unsafe.Slice(table, n), idx)
}
