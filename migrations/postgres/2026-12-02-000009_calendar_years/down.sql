DROP TABLE calendar_years;
DROP FUNCTION calendar_years_append_only();
