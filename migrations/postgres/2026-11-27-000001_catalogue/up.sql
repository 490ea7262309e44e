-- The runtime copy of the catalogue definitions in forms/.
-- Every definition row carries the hash of its source definition and a version that the
-- loader bumps when the definition changes; rows are retired (active = false), never
-- deleted, so that later cases keep their references.

CREATE TABLE departments (
    code TEXT PRIMARY KEY NOT NULL,
    prefix TEXT NOT NULL,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    service_window TEXT NOT NULL,
    phone TEXT NOT NULL,
    position INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE field_definitions (
    key TEXT PRIMARY KEY NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL,
    sensitivity TEXT NOT NULL,
    definition TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE materials (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE items (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    department_code TEXT NOT NULL REFERENCES departments (code),
    kind TEXT NOT NULL,
    audience TEXT NOT NULL,
    high_frequency BOOLEAN NOT NULL,
    trips INTEGER NOT NULL,
    online_depth INTEGER NOT NULL,
    legal_time_limit_days INTEGER NOT NULL,
    promised_time_limit_days INTEGER NOT NULL,
    keywords TEXT NOT NULL,
    guide TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX items_department ON items (department_code);

CREATE TABLE item_fields (
    item_code TEXT NOT NULL REFERENCES items (code),
    field_key TEXT NOT NULL REFERENCES field_definitions (key),
    position INTEGER NOT NULL,
    required BOOLEAN NOT NULL,
    PRIMARY KEY (item_code, field_key)
);

CREATE TABLE item_materials (
    item_code TEXT NOT NULL REFERENCES items (code),
    material_code TEXT NOT NULL REFERENCES materials (code),
    position INTEGER NOT NULL,
    required BOOLEAN NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (item_code, material_code)
);
CREATE INDEX item_materials_material ON item_materials (material_code);

CREATE TABLE bundles (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    audience TEXT NOT NULL,
    theme TEXT NOT NULL,
    lead_department_code TEXT NOT NULL REFERENCES departments (code),
    promised_time_limit_days INTEGER NOT NULL,
    keywords TEXT NOT NULL,
    definition TEXT NOT NULL,
    position INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX bundles_audience_theme ON bundles (audience, theme);

CREATE TABLE bundle_items (
    bundle_code TEXT NOT NULL REFERENCES bundles (code),
    item_code TEXT NOT NULL REFERENCES items (code),
    position INTEGER NOT NULL,
    PRIMARY KEY (bundle_code, item_code)
);
CREATE INDEX bundle_items_item ON bundle_items (item_code);
