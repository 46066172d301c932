// Package kvlab is lab 6: a linearizable key-value service on Raft, with
// client sessions for exactly-once semantics (Raft thesis §6.3) and reads
// through ReadIndex (§6.4). Read chapters/06-linearizable-kv.md first, then
// run
//
//	go test ./labs/kv
//
// The tests keep the names of MIT 6.5840's kvraft tests (TestBasic,
// TestConcurrent, TestUnreliable, TestOnePartition,
// TestManyPartitionsManyClients, TestPersistConcurrent, TestSnapshotRecover,
// ...) and run on the simulator with minikv's real kv state machine (package
// kv) on every node: clerks (labtest.Clerk) that the test drives, and
// autonomous clients whose history porcupine checks for linearizability.
package kvlab
