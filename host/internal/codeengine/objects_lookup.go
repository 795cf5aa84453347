package codeengine

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// ByNumber answers the object code with a 9-digit unified number
// (统一编号), whatever its status: the emergency services' look-up, and the
// way back to a lost sticker's code and batch. Anything but nine digits
// with a valid check digit is refused before the database is asked.
// Another platform's caller gets the object's information without the
// code's URL token and batch (see forCaller).
func (o *Objects) ByNumber(ctx context.Context, callerPlatform, number string) (*ObjectCode, error) {
	number = strings.TrimSpace(number)
	if len(number) != 9 || strings.Trim(number, "0123456789") != "" {
		return nil, fault.Invalidf("parameter %q must be the 9-digit unified number (统一编号)", "number")
	}
	n, _ := strconv.ParseInt(number, 10, 64)
	if !ValidNumber(n) {
		return nil, fault.Invalidf("parameter %q: %s has a wrong check digit (the last digit)", "number", number)
	}
	c, owner, byNumber, err := o.find(ctx, nil, number, false)
	if err != nil {
		return nil, err
	}
	return forCaller(c, owner, callerPlatform, byNumber), nil
}

// MaxIndustryMatches bounds a look-up by industry code.
const MaxIndustryMatches = 100

// ByIndustryCode answers the codes of the caller's platform whose object
// has an industry code (部件编号, 查码值): live ones first, then newest.
// typeID narrows it to one type.
func (o *Objects) ByIndustryCode(ctx context.Context, platformID, typeID, industryCode string) ([]ObjectCode, error) {
	industryCode = strings.Trim(industryCode, " ")
	if industryCode == "" {
		return nil, fault.Missing("industryCode")
	}
	if err := storable("industryCode", industryCode, "typeId", typeID); err != nil {
		return nil, err
	}
	var f filter
	f.add("c.platform_id = " + f.arg(platformID))
	f.add("c.industry_code = " + f.arg(industryCode))
	f.eq("c.type_id", strings.TrimSpace(typeID))
	rows, err := o.rules.cfg.Pool.Query(ctx, `SELECT `+codeCols+` FROM object_codes c LEFT JOIN object_types t ON t.id = c.type_id`+f.where()+
		fmt.Sprintf(` ORDER BY c.status IN %s DESC, c.created_at DESC, c.number DESC LIMIT %d`, liveStatuses, MaxIndustryMatches), f.args...)
	if err != nil {
		return nil, fmt.Errorf("codeengine: codes by industry code: %w", err)
	}
	defer rows.Close()
	out := []ObjectCode{}
	for rows.Next() {
		var c ObjectCode
		var platform string
		if err := o.scanCode(rows, &c, &platform); err != nil {
			return nil, fmt.Errorf("codeengine: codes by industry code: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
