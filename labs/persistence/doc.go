// Package persistence is lab 3: persistence and crashes (Raft Figure 2's
// "persistent state on all servers", §5.1, and the Ready contract of package
// raft). Read chapters/03-persistence.md first, then run
//
//	go test ./labs/persistence
//
// Crashes here are harsher than in MIT 6.5840: a crashed node loses every
// write its disk had not fsynced, and may keep half of the last one.
package persistence
