// Package replication is lab 2: log replication (Raft §5.3, §5.4.2, Figure
// 8). Read chapters/02-replication.md first, then run
//
//	go test ./labs/replication
//
// These tests run with the leader's no-op entry switched off, so the first
// command a test proposes lands at index 1, as in MIT 6.5840's tests;
// TestLeaderNoopCommitsEarlierTerms shows what the no-op is for.
package replication
