DROP TABLE bundle_items;
DROP TABLE bundles;
DROP TABLE item_materials;
DROP TABLE item_fields;
DROP TABLE items;
DROP TABLE materials;
DROP TABLE field_definitions;
DROP TABLE departments;
