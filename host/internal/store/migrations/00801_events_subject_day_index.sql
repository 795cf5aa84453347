-- +goose Up
-- The statistics count distinct code holders over a range of days; the
-- per-subject rollup's key starts with the subject. Rows are appended
-- roughly in day order, so a BRIN index finds a range of days for almost
-- nothing: new rows land in page ranges that are not summarized yet, which
-- costs the writer nothing, and autosummarize sums them up in the
-- background. Counter updates stay HOT (the day never changes).
CREATE INDEX usage_subject_daily_day ON usage_subject_daily USING brin (day) WITH (autosummarize = on);

-- +goose Down
DROP INDEX usage_subject_daily_day;
