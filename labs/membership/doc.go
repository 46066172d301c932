// Package membership is lab 5: membership changes, leadership transfer and
// linearizable reads (thesis ch. 4, §3.10, §6.4). Read
// chapters/05-membership-and-reads.md first, then run
//
//	go test ./labs/membership
//
// The clusters here grow and shrink: spare nodes join as learners, catch up
// and are promoted; voters, the leader included, are removed; leadership is
// handed over on purpose. Reads go through ReadIndex and must never return a
// value older than one a client already saw written.
package membership
