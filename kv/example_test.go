package kv

import (
	"fmt"

	"github.com/minikv-go/minikv/raft"
	"github.com/minikv-go/minikv/storage"
)

func ExampleStateMachine() {
	sm, _ := New(storage.NewMemory(), Limits{})
	now := int64(1_700_000_000_000_000_000) // the leader's clock, Unix nanoseconds
	put := Command{Kind: CmdOps, Time: now, Ops: []Op{{Type: OpPut, Key: []byte("greeting"), Value: []byte("hello")}}}
	cas := Command{Kind: CmdOps, Time: now, Ops: []Op{{Type: OpPut, Key: []byte("greeting"), Value: []byte("hi"), CheckVersion: true, IfVersion: 7}}}
	res, _ := sm.Apply([]raft.Entry{
		{Index: 1, Data: put.Encode()},
		{Index: 2, Data: cas.Encode()},
	}, false)
	fmt.Println(res[0].Code, res[0].Ops[0].Version)
	fmt.Println(res[1].Code, res[1].Err())
	it, _ := sm.Get([]byte("greeting"))
	fmt.Printf("%s version %d\n", it.Value, it.Version)
	// Output:
	// ok 1
	// version_mismatch kv: version mismatch on op 0 (key "greeting"): expected 7, actual 1
	// hello version 1
}
