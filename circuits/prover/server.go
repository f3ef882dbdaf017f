package prover

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	"github.com/aep2/aep2/circuits/witness"
)

// Error codes of the serve protocol (README "serve").
const (
	CodeParse       = "parse_error"        // the line is not a JSON request
	CodeBadRequest  = "bad_request"        // unknown method or missing params
	CodeInvalid     = "invalid_settlement" // the settlement breaks a rule
	CodeTooLarge    = "too_large"          // it does not fit the circuit size
	CodeNoKeys      = "no_keys"            // no keys for this circuit id
	CodeUnsatisfied = "unsatisfied"        // the circuit rejected the witness
	CodeBadProof    = "bad_proof"          // verify: the proof does not verify
	CodeInternal    = "internal"           // a bug; the server keeps running
)

// ServeRequest is one line on stdin.
type ServeRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params ServeParams     `json:"params"`
}

// ServeParams are the parameters of every method; each uses what it needs.
// Family is optional (batch); an agent-family request decodes into
// AgentSettlement instead of Settlement.
type ServeParams struct {
	Family          string                `json:"family,omitempty"`
	N               int                   `json:"n"`
	P               int                   `json:"p"`
	Settlement      *witness.Request      `json:"request,omitempty"`
	AgentSettlement *witness.AgentRequest `json:"-"`
	Proof           *Proof                `json:"proof,omitempty"`
}

// UnmarshalJSON decodes "request" as the family's request format.
func (p *ServeParams) UnmarshalJSON(b []byte) error {
	type plain ServeParams
	var aux struct {
		plain
		Request json.RawMessage `json:"request,omitempty"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*p = ServeParams(aux.plain)
	if len(aux.Request) == 0 || string(aux.Request) == "null" {
		return nil
	}
	if (Size{Family: p.Family}).Fam() == FamilyAgent {
		p.AgentSettlement = new(witness.AgentRequest)
		return json.Unmarshal(aux.Request, p.AgentSettlement)
	}
	p.Settlement = new(witness.Request)
	return json.Unmarshal(aux.Request, p.Settlement)
}

// ServeError is the error member of a failed reply.
type ServeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type serveReply struct {
	ID     json.RawMessage `json:"id"`
	Result any             `json:"result,omitempty"`
	Error  *ServeError     `json:"error,omitempty"`
}

// Server answers serve requests, holding each circuit's keys in memory.
type Server struct {
	Home string
	mu   sync.Mutex
	keys map[string]*Keys
}

// Serve reads JSON lines from r and writes one reply line per request to w,
// in order, until r ends. A bad line gets an error reply, never a crash.
func (s *Server) Serve(r io.Reader, w io.Writer) error {
	in := bufio.NewReaderSize(r, 1<<20)
	enc := json.NewEncoder(w)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 && !isBlank(line) {
			if werr := enc.Encode(s.handleLine(line)); werr != nil {
				return fmt.Errorf("write reply: %w", werr)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read request: %w", err)
		}
	}
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

func (s *Server) handleLine(line []byte) (reply serveReply) {
	var req ServeRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return serveReply{ID: json.RawMessage("null"), Error: &ServeError{CodeParse, err.Error()}}
	}
	if len(req.ID) == 0 {
		req.ID = json.RawMessage("null")
	}
	reply.ID = req.ID
	defer func() {
		if p := recover(); p != nil {
			reply.Result, reply.Error = nil, &ServeError{CodeInternal, fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
		}
	}()
	result, err := s.dispatch(&req)
	if err != nil {
		return serveReply{ID: req.ID, Error: &ServeError{codeOf(err), err.Error()}}
	}
	return serveReply{ID: req.ID, Result: result}
}

func (s *Server) dispatch(req *ServeRequest) (any, error) {
	size := Size{Family: req.Params.Family, N: req.Params.N, P: req.Params.P}
	if req.Method == "ping" {
		return map[string]string{"status": "ok"}, nil
	}
	if err := size.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadRequest, err)
	}
	switch req.Method {
	case "info":
		return CachedInfo(size, size.KeyDir(s.Home))
	case "load":
		k, err := s.load(size)
		if err != nil {
			return nil, err
		}
		return InfoOf(size, k.CCS), nil
	case "prove":
		if size.Fam() == FamilyTest {
			return nil, fmt.Errorf("%w: the test family is proved by `aep2-prover prove` only", errBadRequest)
		}
		if size.Fam() == FamilyAgent {
			return s.proveAgent(size, req.Params.AgentSettlement)
		}
		return s.prove(size, req.Params.Settlement)
	case "verify":
		return s.verify(size, req.Params.Proof)
	}
	return nil, fmt.Errorf("%w: unknown method %q (want ping, info, load, prove or verify)", errBadRequest, req.Method)
}

var errBadRequest = errors.New("bad request")

func (s *Server) load(size Size) (*Keys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[size.ID()]; ok {
		return k, nil
	}
	k, err := LoadKeys(size, size.KeyDir(s.Home))
	if err != nil {
		return nil, err
	}
	if s.keys == nil {
		s.keys = map[string]*Keys{}
	}
	s.keys[size.ID()] = k
	return k, nil
}

func (s *Server) prove(size Size, req *witness.Request) (*Proof, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: prove needs params.request", errBadRequest)
	}
	st, err := CheckedSettlement(req)
	if err != nil {
		return nil, err
	}
	if _, err := witness.Assign(st, size.N, size.P); err != nil {
		return nil, err
	}
	k, err := s.load(size)
	if err != nil {
		return nil, err
	}
	return Prove(size, k.CCS, k.PK, st)
}

func (s *Server) proveAgent(size Size, req *witness.AgentRequest) (*Proof, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: prove needs params.request", errBadRequest)
	}
	st, err := CheckedAgentSettlement(req)
	if err != nil {
		return nil, err
	}
	if _, err := witness.AssignAgent(st, size.N, size.P); err != nil {
		return nil, err
	}
	k, err := s.load(size)
	if err != nil {
		return nil, err
	}
	return ProveAgent(size, k.CCS, k.PK, st)
}

func (s *Server) verify(size Size, p *Proof) (any, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: verify needs params.proof", errBadRequest)
	}
	if p.CircuitID != "" && p.CircuitID != size.ID() {
		return nil, fmt.Errorf("%w: proof is for %s, not %s", errBadRequest, p.CircuitID, size.ID())
	}
	k, err := s.load(size)
	if err != nil {
		return nil, err
	}
	if err := Verify(k.VK, p); err != nil {
		return nil, err
	}
	return map[string]bool{"valid": true}, nil
}

// CheckedSettlement parses a request and checks every rule natively.
func CheckedSettlement(req *witness.Request) (*witness.Settlement, error) {
	st, err := witness.Parse(req)
	if err != nil {
		return nil, err
	}
	return st, st.Check()
}

func codeOf(err error) string {
	switch {
	case errors.Is(err, errBadRequest):
		return CodeBadRequest
	case errors.Is(err, witness.ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, witness.ErrInvalid):
		return CodeInvalid
	case errors.Is(err, ErrNoKeys):
		return CodeNoKeys
	case errors.Is(err, ErrUnsatisfied):
		return CodeUnsatisfied
	case errors.Is(err, ErrBadProof):
		return CodeBadProof
	}
	return CodeInternal
}
