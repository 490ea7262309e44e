DROP TABLE metric_ratings;
DROP TABLE metric_parts_months;
DROP TABLE metric_cases_months;
