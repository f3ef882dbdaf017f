package prover_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aep2/aep2/circuits/internal/fixture"
	"github.com/aep2/aep2/circuits/prover"
	"github.com/aep2/aep2/circuits/witness"
)

type reply struct {
	ID     json.RawMessage    `json:"id"`
	Result json.RawMessage    `json:"result"`
	Error  *prover.ServeError `json:"error"`
}

func serve(t *testing.T, s *prover.Server, lines ...string) []reply {
	t.Helper()
	var out bytes.Buffer
	if err := s.Serve(strings.NewReader(strings.Join(lines, "\n")+"\n"), &out); err != nil {
		t.Fatal(err)
	}
	var replies []reply
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r reply
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("reply is not JSON: %v", err)
		}
		replies = append(replies, r)
	}
	return replies
}

// RequestJSON renders a fixture settlement as the prove request JSON.
func requestJSON(t *testing.T, s *witness.Settlement) string {
	t.Helper()
	b, err := json.Marshal(witness.RequestOf(s))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServeErrors(t *testing.T) {
	s := &prover.Server{Home: t.TempDir()}
	bad := fixture.Settlement(1)
	bad.Pairs[0].Total.SetInt64(1)
	huge := fixture.Settlement(2)
	cases := []struct {
		line, code string
	}{
		{`not json`, prover.CodeParse},
		{`{"id":1,"method":"fly","params":{"n":1,"p":1}}`, prover.CodeBadRequest},
		{`{"id":2,"method":"prove","params":{"n":0,"p":1}}`, prover.CodeBadRequest},
		{`{"id":3,"method":"prove","params":{"n":1,"p":1}}`, prover.CodeBadRequest},
		{`{"id":4,"method":"prove","params":{"n":1,"p":1,"request":{"settlement":{"pairs":[]}}}}`, prover.CodeInvalid},
		{`{"id":5,"method":"prove","params":{"n":1,"p":1,"request":` + requestJSON(t, bad) + `}}`, prover.CodeInvalid},
		{`{"id":6,"method":"prove","params":{"n":1,"p":1,"request":` + requestJSON(t, huge) + `}}`, prover.CodeTooLarge},
		{`{"id":7,"method":"prove","params":{"n":1,"p":1,"request":` + requestJSON(t, fixture.Settlement(1)) + `}}`, prover.CodeNoKeys},
		{`{"id":8,"method":"verify","params":{"n":1,"p":1,"proof":{"proof":"0x00","publicInput":"1"}}}`, prover.CodeNoKeys},
		{`[1,2]`, prover.CodeParse},
	}
	lines := make([]string, len(cases))
	for i, c := range cases {
		lines[i] = c.line
	}
	lines = append(lines, "", `{"id":"last","method":"ping"}`)
	replies := serve(t, s, lines...)
	if len(replies) != len(cases)+1 {
		t.Fatalf("got %d replies for %d requests", len(replies), len(cases)+1)
	}
	for i, c := range cases {
		if replies[i].Error == nil || replies[i].Error.Code != c.code {
			t.Errorf("%s: want %s, got %+v", c.line[:min(len(c.line), 60)], c.code, replies[i].Error)
		}
	}
	if last := replies[len(cases)]; last.Error != nil || string(last.ID) != `"last"` {
		t.Errorf("server did not survive bad input: %+v", last)
	}
}
