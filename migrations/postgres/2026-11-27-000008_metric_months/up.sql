-- Monthly rollups of the per-day KPI aggregates, written in the same statement batch as
-- the per-day rows, so that a year's report reads twelve months of rows per group and
-- only the days around them from the per-day tables. Months are local `YYYY-MM`.
CREATE TABLE metric_cases_months (
    month TEXT NOT NULL,
    bundle_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    finished BIGINT NOT NULL,
    zero_trip BIGINT NOT NULL,
    trips BIGINT NOT NULL,
    over_declared BIGINT NOT NULL,
    overdue BIGINT NOT NULL,
    handled BIGINT NOT NULL,
    handling_days BIGINT NOT NULL,
    promised_days BIGINT NOT NULL,
    PRIMARY KEY (month, bundle_code, channel)
);

CREATE TABLE metric_parts_months (
    month TEXT NOT NULL,
    bundle_code TEXT NOT NULL,
    item_code TEXT NOT NULL,
    department_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    high_frequency BOOLEAN NOT NULL,
    finished BIGINT NOT NULL,
    zero_trip BIGINT NOT NULL,
    trips BIGINT NOT NULL,
    over_declared BIGINT NOT NULL,
    overdue BIGINT NOT NULL,
    handled BIGINT NOT NULL,
    handling_days BIGINT NOT NULL,
    promised_days BIGINT NOT NULL,
    PRIMARY KEY (month, bundle_code, item_code, department_code, channel, high_frequency)
);

INSERT INTO metric_cases_months
SELECT substr(day, 1, 7), bundle_code, channel, SUM(finished), SUM(zero_trip), SUM(trips),
       SUM(over_declared), SUM(overdue), SUM(handled), SUM(handling_days), SUM(promised_days)
FROM metric_cases GROUP BY substr(day, 1, 7), bundle_code, channel;

INSERT INTO metric_parts_months
SELECT substr(day, 1, 7), bundle_code, item_code, department_code, channel, high_frequency,
       SUM(finished), SUM(zero_trip), SUM(trips), SUM(over_declared), SUM(overdue),
       SUM(handled), SUM(handling_days), SUM(promised_days)
FROM metric_parts
GROUP BY substr(day, 1, 7), bundle_code, item_code, department_code, channel, high_frequency;

-- Ratings counted per day and level, for the satisfaction rate: `counted` is false once an
-- upheld appeal has taken a rating out of the rate.
CREATE TABLE metric_ratings (
    day TEXT NOT NULL,
    level INTEGER NOT NULL,
    counted BOOLEAN NOT NULL,
    ratings BIGINT NOT NULL,
    PRIMARY KEY (day, level, counted)
);

INSERT INTO metric_ratings
SELECT day, level, NOT excluded, COUNT(*) FROM ratings GROUP BY day, level, NOT excluded;
