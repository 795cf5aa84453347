package codeengine

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// MaxEntries bounds one batch entry.
const MaxEntries = 1000

// EntryItem is one object entered with its information (信息录入).
type EntryItem struct {
	TypeID     string         `json:"typeId" validate:"required,max=32"`
	RegionCode string         `json:"regionCode" validate:"max=32"`
	OwnerUnit  string         `json:"ownerUnit" validate:"max=128" doc:"权属单位"`
	Attributes map[string]any `json:"attributes" doc:"the type's required attributes, and any others"`
}

// EntryIn enters one object.
type EntryIn struct {
	CodeDefID string `json:"codeDefId" validate:"required,max=32"`
	EntryItem
}

// BatchEntryIn enters several objects at once.
type BatchEntryIn struct {
	CodeDefID string      `json:"codeDefId" validate:"required,max=32"`
	Items     []EntryItem `json:"items" validate:"required,min=1,max=1000,dive"`
}

// ItemError is why one item of a batch failed.
type ItemError struct {
	Index   int    `json:"index" doc:"0-based position in items"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// EntryResult is what a batch entry did: the codes created (in item
// order, numbered consecutively) and the items refused.
type EntryResult struct {
	BatchID string       `json:"batchId,omitempty" doc:"empty when no item was entered"`
	Created int          `json:"created"`
	Failed  int          `json:"failed"`
	Items   []ObjectCode `json:"items"`
	Errors  []ItemError  `json:"errors"`
}

// Enter creates one object code already filled with its object's
// information: active, or pending_review when the type requires review.
func (o *Objects) Enter(ctx context.Context, appID, platformID string, in *EntryIn) (*ObjectCode, error) {
	res, errs, err := o.enter(ctx, appID, platformID, &BatchEntryIn{CodeDefID: in.CodeDefID, Items: []EntryItem{in.EntryItem}})
	if err != nil {
		return nil, err
	}
	if fe, ok := errs[0]; ok {
		return nil, fe
	}
	return &res.Items[0], nil
}

// EnterBatch creates object codes filled with their objects' information,
// each item standing alone: the good ones are created in one batch with
// consecutive unified numbers, the others reported by index with their
// error code (an unknown type, a missing attribute, an industry code
// another live code of the type — or an earlier item — holds). Nothing is
// created when the request itself is wrong.
func (o *Objects) EnterBatch(ctx context.Context, appID, platformID string, in *BatchEntryIn) (*EntryResult, error) {
	res, _, err := o.enter(ctx, appID, platformID, in)
	return res, err
}

// enter is EnterBatch answering also each refused item's fault by index.
func (o *Objects) enter(ctx context.Context, appID, platformID string, in *BatchEntryIn) (*EntryResult, map[int]*fault.Error, error) {
	n := len(in.Items)
	if n < 1 || n > MaxEntries {
		return nil, nil, fault.Invalidf("parameter %q must hold 1 to %d items", "items", MaxEntries)
	}
	r, err := o.rules.Resolve(ctx, appID, in.CodeDefID)
	if err != nil {
		return nil, nil, err
	}
	if r.Kind != "object" {
		return nil, nil, fault.Invalidf("codeDefId %s is a %s code rule, not an object one", in.CodeDefID, r.Family)
	}
	tokens := make([]byte, 15*n)
	if _, err := rand.Read(tokens); err != nil {
		return nil, nil, err
	}
	now := o.rules.now()
	var res *EntryResult
	var errs map[int]*fault.Error
	err = store.Tx(ctx, o.rules.cfg.Pool, func(tx pgx.Tx) error {
		res, errs = &EntryResult{Items: []ObjectCode{}, Errors: []ItemError{}}, map[int]*fault.Error{}
		fail := func(i int, err error) error {
			fe, ok := fault.As(err)
			if !ok || fe.Kind == fault.Internal || fe.Kind == fault.Unavailable {
				return err
			}
			errs[i] = fe
			return nil
		}
		// Types are locked in id order, each once.
		ids := make([]string, 0, n)
		for _, it := range in.Items {
			ids = append(ids, strings.TrimSpace(it.TypeID))
		}
		slices.Sort(ids)
		types := map[string]*objectType{}
		typeErr := map[string]error{}
		for _, id := range slices.Compact(ids) {
			if err := storable("typeId", id); err != nil {
				typeErr[id] = err
				continue
			}
			t, err := lockType(ctx, tx, id)
			if fault.KindOf(err) == fault.Internal && err != nil {
				return err
			}
			types[id], typeErr[id] = t, err
		}
		type entry struct {
			i     int
			typ   *objectType
			attrs []byte
		}
		var valid []entry
		for i, it := range in.Items {
			id := strings.TrimSpace(it.TypeID)
			if err := typeErr[id]; err != nil {
				if err := fail(i, err); err != nil {
					return err
				}
				continue
			}
			t := types[id]
			attrs, err := marshalAttributes(it.Attributes)
			if err == nil {
				err = storable("regionCode", it.RegionCode, "ownerUnit", it.OwnerUnit)
			}
			if err == nil {
				err = t.check(it.Attributes)
			}
			if err != nil {
				if err := fail(i, err); err != nil {
					return err
				}
				continue
			}
			valid = append(valid, entry{i, t, attrs})
		}
		if len(valid) == 0 {
			return nil
		}
		// The range is allocated under the counter's row lock, held to the
		// end: numbers of refused items are given back, so the batch is
		// consecutive.
		var first int64
		if err := tx.QueryRow(ctx, `UPDATE object_number_counter SET next = next + $1 RETURNING next - $1`, len(valid)).Scan(&first); err != nil {
			return err
		}
		if first+int64(len(valid)) > 99999999 {
			return fault.Conflictf(fault.CodeFailedOperation, "the unified number space is exhausted")
		}
		batchID := "B" + strconv.FormatInt(first, 10)
		used := int64(0)
		var created []string
		for _, e := range valid {
			it := in.Items[e.i]
			seq := first + used
			status := statusActive
			if e.typ.Review {
				status = statusPendingReview
			}
			tok := tokenEncoding.EncodeToString(tokens[15*e.i : 15*e.i+15])
			// ON CONFLICT names the industry-code index: a clash with a live
			// code (or an earlier item) inserts nothing instead of failing
			// the transaction.
			rows, err := tx.Query(ctx, `INSERT INTO object_codes (token, number, batch_id, platform_id, rule_id, type_id, status, region_code,
				owner_unit, attributes, activated_at, activated_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11)
				ON CONFLICT (type_id, industry_code) WHERE industry_unique AND status IN `+liveStatuses+` DO NOTHING RETURNING token`,
				tok, seq*10+CheckDigit(seq), batchID, platformID, in.CodeDefID, e.typ.ID, status, strings.TrimSpace(it.RegionCode),
				it.OwnerUnit, e.attrs, now, "app:"+appID)
			if err != nil {
				return err
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			if len(got) == 0 {
				if err := fail(e.i, industryClash(ctx, tx, e.typ, e.typ.industryCode(it.Attributes), "")); err != nil {
					return err
				}
				continue
			}
			if e.typ.Review {
				if err := o.submit(ctx, tx, submission{token: tok, number: seq*10 + CheckDigit(seq), platformID: platformID, typeID: e.typ.ID,
					region: strings.TrimSpace(it.RegionCode), action: "entry", attrs: e.attrs, ownerUnit: it.OwnerUnit, by: "app:" + appID, at: now}); err != nil {
					return err
				}
			}
			created = append(created, tok)
			used++
		}
		if used < int64(len(valid)) {
			if _, err := tx.Exec(ctx, `UPDATE object_number_counter SET next = $1`, first+used); err != nil {
				return err
			}
		}
		if used == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO object_batches (id, platform_id, app_id, rule_id, type_id, region_code, count, first_seq, created_at)
			VALUES ($1, $2, $3, $4, NULL, '', $5, $6, $7)`, batchID, platformID, appID, in.CodeDefID, used, first, now); err != nil {
			return err
		}
		res.BatchID, res.Created = batchID, int(used)
		for _, tok := range created {
			c, _, err := o.load(ctx, tx, tok, false)
			if err != nil {
				return err
			}
			res.Items = append(res.Items, *c)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for i := range n {
		if fe, ok := errs[i]; ok {
			res.Errors = append(res.Errors, ItemError{Index: i, Code: fe.Code, Message: fe.Message})
		}
	}
	res.Failed = len(res.Errors)
	if res.Created > 0 {
		detail, _ := json.Marshal(map[string]any{"batchId": res.BatchID, "count": res.Created, "entry": true})
		if err := o.events.Write(ctx, events.Event{At: now, Type: events.Generate, Result: events.Success, PlatformID: platformID, AppID: appID,
			RuleID: in.CodeDefID, RuleVersion: r.Version, Kind: "object", Detail: detail}); err != nil {
			return nil, nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the usage record could not be written; try again")
		}
	}
	return res, errs, nil
}

// ModifyIn changes a code's information (修改码属性).
type ModifyIn struct {
	Attributes map[string]any `json:"attributes" doc:"merged into the stored attributes; a null value removes one. The type's required attributes must remain"`
	RegionCode string         `json:"regionCode" validate:"max=32" doc:"empty: unchanged"`
	OwnerUnit  string         `json:"ownerUnit" validate:"max=128" doc:"权属单位; empty: unchanged"`
}

// Modify changes the information of a filled code of the app's platform
// (an object moved, its owner changed). An active code stays active and
// changes at once: the review of its type covers what makes a code
// official (activation and entry), and holding a posted code's change
// would leave it answering stale data or nothing. A pending code's
// submission is replaced (the reviewer sees the new content); a rejected
// code is submitted again — for review when its type requires it, else
// it becomes active. The industry code stays unique as on activation.
func (o *Objects) Modify(ctx context.Context, appID, platformID, code string, in *ModifyIn) (*ObjectCode, error) {
	if len(in.Attributes) == 0 && in.RegionCode == "" && in.OwnerUnit == "" {
		return nil, fault.Invalidf("nothing to modify: give attributes, regionCode or ownerUnit")
	}
	if err := storable("regionCode", in.RegionCode, "ownerUnit", in.OwnerUnit); err != nil {
		return nil, err
	}
	var out *ObjectCode
	err := store.Tx(ctx, o.rules.cfg.Pool, func(tx pgx.Tx) error {
		c, owner, err := o.load(ctx, tx, code, false)
		if err != nil {
			return err
		}
		if owner != platformID {
			return fault.Deniedf("object code %d belongs to another platform", c.Number)
		}
		if err := editable(c); err != nil {
			return err
		}
		if c.TypeID == "" || c.Status == statusEmpty {
			return fault.Conflictf(fault.CodeFailedOperation, "object code %d is empty: activate it first", c.Number)
		}
		typ, err := lockType(ctx, tx, c.TypeID)
		if err != nil {
			return err
		}
		if c, _, err = o.load(ctx, tx, c.Token, true); err != nil {
			return err
		}
		if err := editable(c); err != nil { // marked legacy meanwhile
			return err
		}
		switch c.Status {
		case statusCancelled:
			return fault.Conflictf(fault.CodeFailedOperation, "object code %d is cancelled", c.Number)
		case statusEmpty:
			return fault.Conflictf(fault.CodeFailedOperation, "object code %d is empty: activate it first", c.Number)
		}
		attrs := map[string]any{}
		if len(c.Attributes) > 0 {
			if err := json.Unmarshal(c.Attributes, &attrs); err != nil || attrs == nil {
				attrs = map[string]any{}
			}
		}
		for k, v := range in.Attributes {
			if v == nil {
				delete(attrs, k)
			} else {
				attrs[k] = v
			}
		}
		if err := typ.check(attrs); err != nil {
			return err
		}
		raw, err := marshalAttributes(attrs)
		if err != nil {
			return err
		}
		region, ownerUnit := c.RegionCode, c.OwnerUnit
		if in.RegionCode != "" {
			region = strings.TrimSpace(in.RegionCode)
		}
		if in.OwnerUnit != "" {
			ownerUnit = in.OwnerUnit
		}
		status := c.Status
		if status == statusRejected {
			status = statusActive
			if typ.Review {
				status = statusPendingReview
			}
		}
		err = o.writeAttributes(ctx, tx, typ, c.Token, attrs, `UPDATE object_codes SET status = $2, attributes = $3, region_code = $4, owner_unit = $5
			WHERE token = $1`, c.Token, status, raw, region, ownerUnit)
		if err != nil {
			return err
		}
		if status == statusPendingReview {
			if err := o.submit(ctx, tx, submission{token: c.Token, number: c.Number, platformID: owner, typeID: typ.ID, region: region,
				action: "modify", attrs: raw, ownerUnit: ownerUnit, by: "app:" + appID, at: o.rules.now()}); err != nil {
				return err
			}
		}
		out, _, err = o.load(ctx, tx, c.Token, false)
		return err
	})
	return out, err
}
