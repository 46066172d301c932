package kv

// execOps applies the ops of a CmdOps command atomically: each op sees the
// state left by the ops before it, and if any conditional op fails, or the
// gets read more than Limits.MaxResultBytes, nothing is written.
//
// Every key the command writes gets version res.Index, the log index of the
// entry, like etcd's mod_revision: versions are unique, increase with every
// write, and every replica assigns the same ones.
func (a *applier) execOps(res Result, cmd *Command) (Result, error) {
	tx := a.tx
	defer tx.discard() // a no-op after commit
	ops := make([]OpResult, len(cmd.Ops))
	readBytes := 0
	for i := range cmd.Ops {
		op := &cmd.Ops[i]
		rec, present, err := readRecord(tx, op.Key)
		if err != nil {
			return res, err
		}
		// An expired key is absent for every read and condition, even
		// before the sweep removes it.
		live := present && rec.live(a.now)
		var cur uint64
		if live {
			cur = rec.version
		}
		// LAB 6 BEGIN: a conditional op applies only if the key's version is IfVersion
		// STUB: _ = cur
		if op.CheckVersion && op.IfVersion != cur {
			res.Code = CodeVersionMismatch
			res.FailedOp = i
			res.FailedKey = cloneOrNil(op.Key)
			res.Expected = op.IfVersion
			res.Actual = cur
			return res, nil
		}
		// LAB 6 END
		switch op.Type {
		case OpPut:
			if present && rec.expiresAt != 0 {
				tx.del(ttlKey(rec.expiresAt, op.Key))
			}
			nr := record{version: res.Index, expiresAt: expiryAt(a.now, int64(op.TTL)), value: op.Value}
			tx.put(userKey(op.Key), nr.encode())
			if nr.expiresAt != 0 {
				tx.put(ttlKey(nr.expiresAt, op.Key), nil)
			}
			ops[i] = OpResult{Version: res.Index}
		case OpDelete:
			if present { // an expired leftover goes too: the sweep need not find it
				tx.del(userKey(op.Key))
				if rec.expiresAt != 0 {
					tx.del(ttlKey(rec.expiresAt, op.Key))
				}
			}
			if live {
				ops[i] = OpResult{Found: true, Version: cur}
			}
		case OpGet:
			if !live {
				continue
			}
			readBytes += len(rec.value)
			if readBytes > a.limits.MaxResultBytes {
				// Every replica reads the same values, so this is
				// deterministic too.
				res.Code = CodeTooLarge
				return res, nil
			}
			ops[i] = OpResult{Found: true, Version: cur, Value: rec.value, ExpiresAt: rec.expiresAt}
		}
	}
	tx.commit()
	res.Ops = ops
	return res, nil
}
