//! Table definitions shared by both backends (the migrations keep the column types equal).

diesel::table! {
    departments (code) {
        code -> Text,
        prefix -> Text,
        name -> Text,
        short_name -> Text,
        service_window -> Text,
        phone -> Text,
        position -> Integer,
        content_hash -> Text,
        version -> Integer,
        active -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    field_definitions (key) {
        key -> Text,
        label -> Text,
        field_type -> Text,
        sensitivity -> Text,
        definition -> Text,
        content_hash -> Text,
        version -> Integer,
        active -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    materials (code) {
        code -> Text,
        name -> Text,
        description -> Text,
        content_hash -> Text,
        version -> Integer,
        active -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    items (code) {
        code -> Text,
        name -> Text,
        department_code -> Text,
        kind -> Text,
        audience -> Text,
        high_frequency -> Bool,
        trips -> Integer,
        online_depth -> Integer,
        legal_time_limit_days -> Integer,
        promised_time_limit_days -> Integer,
        keywords -> Text,
        guide -> Text,
        content_hash -> Text,
        version -> Integer,
        active -> Bool,
        updated_at -> Timestamp,
        smart_approval -> Bool,
    }
}

diesel::table! {
    item_fields (item_code, field_key) {
        item_code -> Text,
        field_key -> Text,
        position -> Integer,
        required -> Bool,
    }
}

diesel::table! {
    item_materials (item_code, material_code) {
        item_code -> Text,
        material_code -> Text,
        position -> Integer,
        required -> Bool,
        detail -> Text,
    }
}

diesel::table! {
    bundles (code) {
        code -> Text,
        name -> Text,
        audience -> Text,
        theme -> Text,
        lead_department_code -> Text,
        promised_time_limit_days -> Integer,
        keywords -> Text,
        definition -> Text,
        position -> Integer,
        content_hash -> Text,
        version -> Integer,
        active -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    bundle_items (bundle_code, item_code) {
        bundle_code -> Text,
        item_code -> Text,
        position -> Integer,
    }
}

diesel::table! {
    import_jobs (id) {
        id -> Text,
        started_by -> Text,
        started_at -> Timestamp,
        updated_at -> Timestamp,
        done -> BigInt,
        total -> BigInt,
        finished -> Bool,
        outcome -> Nullable<Text>,
    }
}

diesel::joinable!(items -> departments (department_code));
diesel::joinable!(item_fields -> items (item_code));
diesel::joinable!(item_fields -> field_definitions (field_key));
diesel::joinable!(item_materials -> items (item_code));
diesel::joinable!(item_materials -> materials (material_code));
diesel::joinable!(bundles -> departments (lead_department_code));
diesel::joinable!(bundle_items -> bundles (bundle_code));
diesel::joinable!(bundle_items -> items (item_code));

diesel::table! {
    accounts (id) {
        id -> BigInt,
        kind -> Text,
        role -> Text,
        username -> Nullable<Text>,
        display_name -> Text,
        id_number_enc -> Nullable<Text>,
        id_number_hash -> Nullable<Text>,
        phone_enc -> Nullable<Text>,
        phone_hash -> Nullable<Text>,
        uscc -> Nullable<Text>,
        legal_representative -> Nullable<Text>,
        contact_name -> Nullable<Text>,
        industry -> Nullable<Text>,
        scale -> Nullable<Text>,
        department_code -> Nullable<Text>,
        password_hash -> Text,
        disabled -> Bool,
        tokens_valid_after -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor -> Text,
        action -> Text,
        target -> Text,
        address -> Text,
        outcome -> Text,
        detail -> Text,
    }
}

diesel::joinable!(accounts -> departments (department_code));

diesel::table! {
    uploads (id) {
        id -> Text,
        account_id -> BigInt,
        sha256 -> Text,
        size -> BigInt,
        content_type -> Text,
        file_name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    drafts (account_id, bundle_code) {
        account_id -> BigInt,
        bundle_code -> Text,
        answers -> Text,
        data_enc -> Text,
        materials -> Text,
        version -> Integer,
        updated_at -> Timestamp,
        filing -> Nullable<Text>,
    }
}

diesel::table! {
    cases (id) {
        id -> BigInt,
        receipt_no -> Text,
        account_id -> BigInt,
        bundle_code -> Text,
        bundle_version -> Integer,
        status -> Text,
        channel -> Text,
        answers -> Text,
        data_enc -> Text,
        trips -> Integer,
        version -> Integer,
        submitted_at -> Timestamp,
        updated_at -> Timestamp,
        workflow -> Text,
        due_date -> Nullable<Text>,
        agency -> Nullable<Text>,
    }
}

diesel::table! {
    sub_cases (id) {
        id -> BigInt,
        case_id -> BigInt,
        item_code -> Text,
        department_code -> Text,
        status -> Text,
        data_enc -> Text,
        materials -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        result_upload -> Nullable<Text>,
    }
}

diesel::table! {
    case_materials (case_id, material_code, upload_id) {
        case_id -> BigInt,
        material_code -> Text,
        upload_id -> Text,
    }
}

diesel::table! {
    idempotency_keys (account_id, key) {
        account_id -> BigInt,
        key -> Text,
        request_hash -> Text,
        state -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    receipt_counters (day) {
        day -> Text,
        last_value -> BigInt,
    }
}

diesel::table! {
    certificates (certificate_no) {
        certificate_no -> Text,
        case_id -> BigInt,
        sub_case_id -> BigInt,
        department_code -> Text,
        payload -> Text,
        signature -> Text,
        key_id -> Text,
        issued_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
        revoked_by -> Nullable<Text>,
    }
}

diesel::table! {
    registry_records (registry, key_hash) {
        registry -> Text,
        key_hash -> Text,
        record_enc -> Text,
        loaded_at -> Timestamp,
    }
}

diesel::table! {
    registry_lookups (id) {
        id -> BigInt,
        at -> Timestamp,
        account_id -> Nullable<BigInt>,
        receipt_no -> Text,
        registry -> Text,
        adapter -> Text,
        key_digest -> Text,
        answer_digest -> Text,
        outcome -> Text,
        elapsed_ms -> BigInt,
    }
}

diesel::table! {
    benefit_grants (policy_id, account_id) {
        policy_id -> BigInt,
        account_id -> BigInt,
        policy_version -> Integer,
        reasons -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    smart_decisions (sub_case_id) {
        sub_case_id -> BigInt,
        case_id -> BigInt,
        item_code -> Text,
        outcome -> Text,
        rule_no -> Nullable<Integer>,
        reason -> Text,
        explanation -> Text,
        evaluated_at -> Timestamp,
    }
}

diesel::joinable!(certificates -> cases (case_id));
diesel::joinable!(smart_decisions -> cases (case_id));
diesel::joinable!(benefit_grants -> policies (policy_id));
diesel::joinable!(sub_cases -> cases (case_id));
diesel::joinable!(messages -> cases (case_id));
diesel::joinable!(case_materials -> cases (case_id));
diesel::joinable!(case_materials -> uploads (upload_id));
diesel::joinable!(cases -> bundles (bundle_code));
diesel::joinable!(sub_cases -> items (item_code));

diesel::table! {
    case_events (id) {
        id -> BigInt,
        case_id -> BigInt,
        at -> Timestamp,
        actor_role -> Text,
        action -> Text,
        from_status -> Text,
        to_status -> Text,
        detail -> Text,
        sub_case_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        account_id -> BigInt,
        case_id -> BigInt,
        at -> Timestamp,
        body -> Text,
        read -> Bool,
    }
}

diesel::table! {
    case_facts (case_id) {
        case_id -> BigInt,
        finished_at -> Timestamp,
        day -> Text,
        bundle_code -> Text,
        channel -> Text,
        trips -> Integer,
        overdue -> Bool,
        handling_days -> Nullable<Integer>,
        promised_days -> Integer,
        parts -> Text,
    }
}

diesel::table! {
    metric_cases (day, bundle_code, channel) {
        day -> Text,
        bundle_code -> Text,
        channel -> Text,
        finished -> BigInt,
        zero_trip -> BigInt,
        trips -> BigInt,
        over_declared -> BigInt,
        overdue -> BigInt,
        handled -> BigInt,
        handling_days -> BigInt,
        promised_days -> BigInt,
    }
}

diesel::table! {
    metric_parts (day, bundle_code, item_code, department_code, channel, high_frequency) {
        day -> Text,
        bundle_code -> Text,
        item_code -> Text,
        department_code -> Text,
        channel -> Text,
        high_frequency -> Bool,
        finished -> BigInt,
        zero_trip -> BigInt,
        trips -> BigInt,
        over_declared -> BigInt,
        overdue -> BigInt,
        handled -> BigInt,
        handling_days -> BigInt,
        promised_days -> BigInt,
    }
}

diesel::table! {
    metric_cases_months (month, bundle_code, channel) {
        month -> Text,
        bundle_code -> Text,
        channel -> Text,
        finished -> BigInt,
        zero_trip -> BigInt,
        trips -> BigInt,
        over_declared -> BigInt,
        overdue -> BigInt,
        handled -> BigInt,
        handling_days -> BigInt,
        promised_days -> BigInt,
    }
}

diesel::table! {
    metric_parts_months (month, bundle_code, item_code, department_code, channel, high_frequency) {
        month -> Text,
        bundle_code -> Text,
        item_code -> Text,
        department_code -> Text,
        channel -> Text,
        high_frequency -> Bool,
        finished -> BigInt,
        zero_trip -> BigInt,
        trips -> BigInt,
        over_declared -> BigInt,
        overdue -> BigInt,
        handled -> BigInt,
        handling_days -> BigInt,
        promised_days -> BigInt,
    }
}

diesel::table! {
    metric_ratings (day, level, counted) {
        day -> Text,
        level -> Integer,
        counted -> Bool,
        ratings -> BigInt,
    }
}

diesel::table! {
    ratings (id) {
        id -> BigInt,
        case_id -> BigInt,
        account_id -> BigInt,
        level -> Integer,
        comment -> Text,
        day -> Text,
        rated_at -> Timestamp,
        excluded -> Bool,
    }
}

diesel::table! {
    rating_parts (rating_id, department_code) {
        rating_id -> BigInt,
        department_code -> Text,
        level -> Integer,
        day -> Text,
    }
}

diesel::table! {
    follow_ups (id) {
        id -> BigInt,
        rating_id -> BigInt,
        case_id -> BigInt,
        status -> Text,
        opened_at -> Timestamp,
        due_date -> Text,
        visit_at -> Nullable<Timestamp>,
        visit_note -> Nullable<Text>,
        outcome -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        appeal_reason -> Nullable<Text>,
        appealed_at -> Nullable<Timestamp>,
        review_note -> Nullable<Text>,
        handled_by -> Text,
        version -> Integer,
    }
}

diesel::table! {
    counter_sessions (clerk_id) {
        clerk_id -> BigInt,
        applicant_id -> BigInt,
        started_at -> Timestamp,
    }
}

diesel::table! {
    activation_codes (account_id) {
        account_id -> BigInt,
        code_hash -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    policies (id) {
        id -> BigInt,
        key -> Text,
        title -> Text,
        doc_number -> Text,
        issuer -> Text,
        published_on -> Text,
        effective_from -> Text,
        effective_to -> Nullable<Text>,
        apply_deadline -> Nullable<Text>,
        status -> Text,
        version -> Integer,
        content -> Text,
        content_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    policy_versions (id) {
        id -> BigInt,
        policy_id -> BigInt,
        version -> Integer,
        status -> Text,
        action -> Text,
        actor -> Text,
        content -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    policy_changes (id) {
        id -> BigInt,
        policy_id -> BigInt,
        at -> Timestamp,
    }
}

diesel::table! {
    calendar_years (id) {
        id -> BigInt,
        year -> Integer,
        version -> Integer,
        data -> Text,
        source_note -> Text,
        actor_id -> Nullable<BigInt>,
        actor -> Text,
        at -> Timestamp,
        recomputed -> Integer,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    certificates,
    registry_records,
    registry_lookups,
    smart_decisions,
    benefit_grants,
    import_jobs,
    calendar_years,
    departments,
    field_definitions,
    materials,
    items,
    item_fields,
    item_materials,
    bundles,
    bundle_items,
    accounts,
    revoked_tokens,
    login_throttle,
    audit_log,
    uploads,
    drafts,
    cases,
    sub_cases,
    case_materials,
    idempotency_keys,
    receipt_counters,
    case_events,
    messages,
    case_facts,
    metric_cases,
    metric_cases_months,
    metric_parts,
    metric_parts_months,
    metric_ratings,
    ratings,
    rating_parts,
    follow_ups,
    counter_sessions,
    activation_codes,
    policies,
    policy_versions,
    policy_changes,
);
