// Package audit keeps the host's tamper-evident audit trail: operation,
// login, API-call and data-security logs (操作日志, 登录日志, 接口调用日志,
// 数据安全日志), their verification, query and export. It alone touches the
// audit tables.
//
// Every entry is a link of one SM3 hash chain: entry n stores the hash of
// entry n-1 (prev_hash) and its own hash over prev_hash and all its fields
// (see chainHash for the exact encoding). Editing, deleting or inserting a
// row breaks the chain at that row, and Verify names the first broken seq.
// The chain head (last seq and hash) lives in its own row; writers lock it,
// so several hosts sharing one database append to one chain with dense seqs.
//
// Writes are durable before they are acknowledged: Record returns only once
// the entry is committed. Concurrent Record calls are grouped into one
// transaction by a single writer goroutine per Logger, which is what makes
// the synchronous contract cheap.
//
// Typical use:
//
//	lg := audit.New(audit.Config{Pool: pool, Log: log})
//	defer lg.Close(ctx)
//	err := lg.Record(ctx, audit.Entry{Type: audit.TypeOperation,
//		Action: "app.create", Target: "app:A0001", Result: audit.Success})
package audit
