//go:build !purego

package agentkey

// selectAddend sets out = table[idx] for idx < n (else zero), reading all n
// entries whatever idx is (select_amd64.s).
//
//go:noescape
func selectAddend(out *affineAddend, table *affineAddend, n int, idx uint64)
