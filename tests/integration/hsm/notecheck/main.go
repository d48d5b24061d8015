// notecheck opens a C2SP signed note with golang.org/x/mod/sumdb/note, code that shares nothing
// with the ledger: it reads the verifier key from its first argument and the note from stdin,
// and prints the verified text, or fails.
package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: notecheck <vkey> < note")
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad verifier key:", err)
		os.Exit(2)
	}
	msg, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	opened, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fmt.Fprintln(os.Stderr, "does not verify:", err)
		os.Exit(1)
	}
	fmt.Print(opened.Text)
}
