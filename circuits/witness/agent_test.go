package witness_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/witness"
)

func TestAgentRequestRoundTrip(t *testing.T) {
	s := fixture.AgentSettlement(2, 1)
	b, err := json.Marshal(witness.AgentRequestOf(s))
	if err != nil {
		t.Fatal(err)
	}
	var req witness.AgentRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	got, err := witness.ParseAgent(&req)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Check(); err != nil {
		t.Fatal(err)
	}
	if n := len(got.Packed()); n != 64+92*2 {
		t.Fatalf("packed settlement is %d bytes, want %d", n, 64+92*2)
	}
	if got.PublicInput().Cmp(s.PublicInput()) != 0 {
		t.Fatal("public input changed in the round trip")
	}
}

func TestParseAgentRejects(t *testing.T) {
	cases := map[string]func(r *witness.AgentRequest){
		"key id 0":                  func(r *witness.AgentRequest) { r.Settlement.Pairs[0].KeyID = "0" },
		"key of 31 bytes":           func(r *witness.AgentRequest) { r.Settlement.Pairs[0].Key = r.Settlement.Pairs[0].Key[:64] },
		"identity key":              func(r *witness.AgentRequest) { r.Settlement.Pairs[0].Key = "0x01" + strings.Repeat("00", 31) },
		"mandate of another key id": func(r *witness.AgentRequest) { r.Mandates[0].KeyID = "99" },
		"signature of 65 bytes":     func(r *witness.AgentRequest) { r.Mandates[0].Signature += "1b" },
		"amount of 2^96": func(r *witness.AgentRequest) {
			r.Mandates[0].Amount = "79228162514264337593543950336"
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			req := witness.AgentRequestOf(fixture.AgentSettlement(1))
			mutate(req)
			if _, err := witness.ParseAgent(req); !errors.Is(err, witness.ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
		})
	}
	t.Run("a wrong total fails Check", func(t *testing.T) {
		req := witness.AgentRequestOf(fixture.AgentSettlement(1))
		req.Settlement.Pairs[0].Total = "1"
		s, err := witness.ParseAgent(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(); !errors.Is(err, witness.ErrInvalid) || !strings.Contains(err.Error(), "total") {
			t.Fatalf("want a total error, got %v", err)
		}
	})
}
