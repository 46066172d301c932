// Package election is lab 1: leader election (Raft §5.2, §5.4.1, thesis
// §9.6). The tests run on the deterministic simulator; read
// chapters/01-election.md first, then run
//
//	go test ./labs/election
package election
