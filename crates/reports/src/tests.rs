use super::*;
use time::macros::date;

fn params() -> Params {
    Params::new(date!(2026 - 12 - 01), date!(2026 - 12 - 07), None, 20).unwrap()
}

#[test]
fn every_report_has_queries_and_shapes_empty_results() {
    let p = params();
    for r in REPORTS {
        let qs = r.queries(&p);
        assert!(!qs.is_empty(), "{}", r.name);
        let empty = qs.iter().map(|_| Vec::new()).collect();
        let t = r.shape(&p, empty);
        assert_eq!(t.report, r.name);
        if r.name == "calls-by-hour" {
            assert_eq!(t.rows.len(), 24, "every hour, zero-filled");
        }
        for row in &t.rows {
            assert_eq!(row.len(), t.columns.len(), "{}", r.name);
        }
    }
}

#[test]
fn ranges_are_whole_utc_days_and_a_queue_is_quoted() {
    let p = Params::new(date!(2026 - 12 - 01), date!(2026 - 12 - 31), Some("Bob's \\ queue".into()), 30).unwrap();
    let q = &find("outcomes").unwrap().queries(&p)[0];
    assert!(q.contains("CallStartDateTime >= 2026-12-01T00:00:00Z AND CallStartDateTime < 2027-01-01T00:00:00Z"), "{q}");
    assert!(q.contains(r"QueueName = 'Bob\'s \\ queue'"), "{q}");
}

#[test]
fn a_zone_moves_the_range_to_local_midnights_across_daylight_saving_and_converts_days_and_hours() {
    // New York: EDT (-4) on 1 November until 2 a.m., EST (-5) from then on.
    let zone = |name: &str| jiff::tz::TimeZone::get(name).unwrap();
    let p = Params::new(date!(2026 - 10 - 31), date!(2026 - 11 - 01), None, 20).unwrap().in_zone(zone("America/New_York")).unwrap();
    let q = &find("calls-by-hour").unwrap().queries(&p)[0];
    assert!(q.contains("CallStartDateTime >= 2026-10-31T04:00:00Z AND CallStartDateTime < 2026-11-02T05:00:00Z"), "{q}");
    assert!(q.contains("GROUP BY HOUR_IN_DAY(convertTimezone(CallStartDateTime))"), "{q}");
    let day = &find("calls-by-day").unwrap().queries(&p)[0];
    assert!(day.starts_with("SELECT DAY_ONLY(convertTimezone(CallStartDateTime)) day"), "{day}");
    let empty = vec![Vec::new()];
    assert_eq!(find("calls-by-hour").unwrap().shape(&p, empty).time_zone, "America/New_York");
    // UTC (any case) is no zone: the plain functions.
    let utc = Params::new(date!(2026 - 12 - 01), date!(2026 - 12 - 01), None, 20).unwrap().in_zone(zone("utc")).unwrap();
    assert_eq!(utc.zone, None);
    assert!(find("calls-by-hour").unwrap().queries(&utc)[0].contains("GROUP BY HOUR_IN_DAY(CallStartDateTime)"));
    // The zone's name goes into the SOQL: a zone without a plain IANA name is refused.
    // (Names that find no zone are refused where the zone is looked up: the server's `reports::zone`.)
    let offset = jiff::tz::TimeZone::fixed(jiff::tz::offset(-5));
    assert!(matches!(params().in_zone(offset), Err(ParamsError::BadZone(_))));
}

#[test]
fn bad_parameters_are_refused_with_words() {
    assert_eq!(parse_date("2026-13-01"), Err(ParamsError::BadDate("2026-13-01".into())));
    assert!(matches!(Params::new(date!(2026 - 12 - 02), date!(2026 - 12 - 01), None, 20), Err(ParamsError::Backwards { .. })));
    assert!(matches!(Params::new(date!(2000 - 01 - 01), date!(2026 - 12 - 01), None, 20), Err(ParamsError::TooLong { .. })));
    assert!(matches!(Params::new(date!(2026 - 12 - 01), date!(2026 - 12 - 01), None, 0), Err(ParamsError::BadThreshold(0))));
}

#[test]
fn the_summary_computes_every_figure_from_one_grouped_pass() {
    let p = params();
    let r = find("summary").unwrap();
    assert_eq!(r.queries(&p).len(), 2, "one grouped pass and the service-level count");
    let t = |s: &str| Value::Text(s.into());
    let f = Value::Float;
    let i = Value::Int;
    // type, outcome, calls, soaSum, soaN, ahtSum, ahtN, talkSum, talkN, holdSum, holdN, wrapSum, wrapN
    let groups = vec![
        vec![t("Inbound"), t("Answered"), i(6), f(60.0), i(6), f(1800.0), i(6), f(1500.0), i(6), f(120.0), i(6), f(180.0), i(4)],
        vec![t("Inbound"), t("Abandoned"), i(2), Value::Null, i(0), Value::Null, i(0), Value::Null, i(0), Value::Null, i(0), Value::Null, i(0)],
        vec![t("Outbound"), t("Answered"), i(2), f(0.0), i(2), f(200.0), i(2), f(200.0), i(2), f(0.0), i(2), Value::Null, i(0)],
        vec![t("Inbound"), t("Voicemail"), i(1), Value::Null, i(0), Value::Null, i(0), Value::Null, i(0), Value::Null, i(0), Value::Null, i(0)],
    ];
    let table = r.shape(&p, vec![groups, vec![vec![i(3)]]]);
    let get = |name: &str| table.rows.iter().find(|row| row[0] == t(name)).map(|row| row[2].clone()).unwrap();
    assert_eq!(get("calls"), i(11));
    assert_eq!(get("inbound"), i(9));
    assert_eq!(get("outbound"), i(2));
    assert_eq!(get("answered"), i(6), "inbound answered only");
    assert_eq!(get("voicemail"), i(1));
    assert_eq!(get("asa"), f(10.0), "inbound answered: 60 / 6");
    assert_eq!(get("aht"), f(250.0), "every answered call: 2000 / 8");
    assert_eq!(get("wrap"), f(45.0), "only calls with a wrap-up: 180 / 4");
    assert_eq!(get("serviceLevel"), f(37.5), "3 of 8 offered");
    assert_eq!(get("abandonmentRate"), f(25.0), "2 of 8 offered");
    let empty = r.shape(&p, vec![vec![], vec![vec![i(0)]]]);
    assert_eq!(empty.rows.iter().find(|row| row[0] == t("asa")).unwrap()[2], Value::Null, "no average of nothing");
}

#[test]
fn queues_and_days_pivot_into_one_row_each() {
    let p = params();
    let t = find("queues").unwrap().shape(
        &p,
        vec![vec![
            vec![Value::Text("Billing".into()), Value::Text("Abandoned".into()), Value::Int(1), Value::Null],
            vec![Value::Text("Billing".into()), Value::Text("Answered".into()), Value::Int(3), Value::Float(7.0)],
            vec![Value::Text("Support".into()), Value::Text("Voicemail".into()), Value::Int(2), Value::Null],
        ]],
    );
    assert_eq!(t.rows[0], vec![Value::Text("Billing".into()), Value::Int(3), Value::Int(1), Value::Int(0), Value::Int(0), Value::Float(25.0), Value::Float(7.0)]);
    assert_eq!(t.rows[1][5], Value::Null, "no abandonment rate without offered calls");
    let d = find("calls-by-day").unwrap().shape(
        &p,
        vec![vec![
            vec![Value::Text("2026-12-01".into()), Value::Text("Inbound".into()), Value::Int(4)],
            vec![Value::Text("2026-12-01".into()), Value::Text("Outbound".into()), Value::Int(1)],
            vec![Value::Text("2026-12-02".into()), Value::Text("Inbound".into()), Value::Int(2)],
        ]],
    );
    let names: Vec<&str> = d.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["key", "Inbound", "Outbound"]);
    assert_eq!(d.rows[1], vec![Value::Text("2026-12-02".into()), Value::Int(2), Value::Int(0)]);
}

#[test]
fn csv_guards_formulas_and_svg_escapes_labels() {
    let p = params();
    let t = find("dispositions").unwrap().shape(&p, vec![vec![vec![Value::Text("=HYPERLINK(\"x\")".into()), Value::Int(2)], vec![Value::Text("<script>".into()), Value::Int(1)]]]);
    let text = render::csv(&t);
    assert!(text.starts_with("Disposition,Calls\n"), "{text}");
    assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\",2"), "{text}");
    let svg = svg::chart(&t).unwrap();
    assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"), "{svg}");
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    let j = render::json(&t);
    assert_eq!(j["rows"][1][1], 1);
    assert_eq!(j["chart"], "bars");
}

#[test]
fn a_row_drills_down_to_the_where_clause_of_its_calls_with_values_quoted() {
    let p = params();
    let outcomes = find("outcomes").unwrap();
    let row = vec![Value::Text("It's \\ odd".into()), Value::Int(3)];
    assert_eq!(
        outcomes.drill(&p, &row).as_deref(),
        Some(r"CallStartDateTime >= 2026-12-01T00:00:00Z AND CallStartDateTime < 2026-12-08T00:00:00Z AND CallOutcome = 'It\'s \\ odd'")
    );
    let hour = find("calls-by-hour").unwrap().drill(&p, &[Value::Text("09:00".into()), Value::Int(1)]).unwrap();
    assert!(hour.ends_with("AND HOUR_IN_DAY(CallStartDateTime) = 9"), "{hour}");
    let day = find("calls-by-day").unwrap().drill(&p, &[Value::Text("2026-12-03".into())]).unwrap();
    assert_eq!(day, "CallStartDateTime >= 2026-12-03T00:00:00Z AND CallStartDateTime < 2026-12-04T00:00:00Z");
    let summary = find("summary").unwrap();
    assert!(summary.drill(&p, &[Value::Text("asa".into())]).is_none(), "an average is no set of calls");
    assert!(summary.drill(&p, &[Value::Text("abandoned".into())]).unwrap().contains("CallOutcome = 'Abandoned'"));
    assert!(find("presence").unwrap().drill(&p, &[Value::Text("ann".into())]).is_none());
}
