// Package events is the durable pipeline of usage events: every generate,
// show, verify, activation, cancellation, relation change, scan upload,
// landing visit and plugin action of a code is an Event written through a
// Writer.
//
// # Durability contract
//
// Writer.Write returns nil only after its events are committed in
// PostgreSQL (synchronous commit), together with their rollups. A request
// that answers success after Write returned nil therefore has its events
// stored, even if the host dies the next instant. Write never drops events
// quietly: when the database is unreachable, slow past its deadline or
// refuses the data, Write returns an error and the caller must answer an
// error too. The converse does not hold: when a connection breaks during
// COMMIT or the caller's context ends while waiting, the events may still
// be stored although Write failed. Counts can thus exceed what callers
// acknowledged, never fall short of it.
//
// # Group commit
//
// One goroutine per Writer commits: concurrent callers' events share one
// transaction (COPY into usage_events, then the rollup upserts), and every
// caller of a batch gets the batch's result. A batch takes whatever is
// pending, up to Config.MaxBatch events; while the writer is busy it may
// wait up to Config.MaxDelay for more. A batch the database refuses for its
// data is retried caller by caller, so one bad event fails only its caller.
// Close drains what was accepted.
//
// # Storage
//
// usage_events is partitioned by UTC month on at; partitions are created
// for the current month and the next two at start and hourly (safe on
// several nodes: an advisory lock serializes creation), with a default
// partition for anything else. Indexes serve the history of a subject
// (subject_id, at) and of a code (code_id, at).
//
// In the same transaction as the events, counts are added to
// usage_rollups, per hour and per day (hours and days of
// Config.Location) × platform × app × rule × type × result, and to
// usage_subject_daily, per day × subject × app × platform × type × result,
// and, for events naming a region (object codes), to usage_region_daily,
// per day × platform × region × code kind × type × result.
// The upserts lock rows in one sorted order, so several nodes writing at
// once wait for each other but never deadlock. Counts reads only the
// rollups, SubjectSummary only the per-subject rollups; SubjectRecords
// pages the raw events of a subject through its index.
package events
