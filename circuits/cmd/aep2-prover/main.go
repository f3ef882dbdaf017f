// Command aep2-prover compiles the aep2 batch circuit, makes its keys and
// proves and verifies settlements; `serve` does the same over JSON lines
// for a long-lived worker. See circuits/README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/consensys/gnark/logger"
	"github.com/rs/zerolog"
)

const usage = `usage: aep2-prover <command> [flags]

commands:
  compile          compile the circuit and cache its info
  setup --dev      single-party DEVELOPMENT key setup (not for production)
  prove            prove a settlement request (JSON) -> proof JSON
  verify           verify a proof JSON
  export-solidity  write the Solidity verifier for the circuit's keys
  export-vk        write the verifying key as JSON (for independent checks)
  info             constraint counts as JSON
  serve            JSON lines on stdin, one reply per line on stdout
  dev-request      a request filling every slot, signed by public TEST keys (benchmarks)
  ceremony         the multi-party trusted setup (phase 1, phase 2 per circuit, seal, verify-transcript)

common flags: --n N --p P (circuit size), --home DIR (default $AEP2_HOME or ~/.aep2)
`

var commands = map[string]func(args []string, stdin io.Reader, stdout, stderr io.Writer) error{
	"compile":         runCompile,
	"setup":           runSetup,
	"prove":           runProve,
	"verify":          runVerify,
	"export-solidity": runExportSolidity,
	"export-vk":       runExportVK,
	"info":            runInfo,
	"serve":           runServe,
	"dev-request":     runDevRequest,
	"ceremony":        runCeremony,
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	// gnark logs to stdout by default; stdout carries JSON (serve replies,
	// proofs), so its progress lines go to stderr.
	logger.Set(zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05"}).
		Level(zerolog.InfoLevel).With().Timestamp().Logger())
	run, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "aep2-prover: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err := run(os.Args[2:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "aep2-prover %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
