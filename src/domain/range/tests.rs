//! Unit tests of range resolution, buckets and labels (moved from range.rs, bodies unchanged).

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn presets_are_rolling_windows_ending_today() {
    let today = d("2026-11-27");
    let r = RangeQuery::preset(RangePreset::Months3).resolve(today).unwrap();
    assert_eq!((r.from, r.to), (d("2026-08-27"), today));
    assert_eq!(r.label(), "Past 3 months (Aug 27 – Nov 27, 2026)");
    let r = RangeQuery::preset(RangePreset::Days7).resolve(today).unwrap();
    assert_eq!((r.from, r.days()), (d("2026-11-21"), 7));
    let r = RangeQuery::preset(RangePreset::Months12).resolve(today).unwrap();
    assert_eq!(r.label(), "Past 12 months (Nov 27, 2025 – Nov 27, 2026)");
    assert_eq!(month_label(d("2026-08-01")), "Aug 2026");
    assert_eq!(r.granularity, Granularity::Month);
}

#[test]
fn month_presets_start_on_the_same_day_clamped_to_a_shorter_month() {
    let r = RangeQuery::preset(RangePreset::Months3).resolve(d("2026-05-31")).unwrap();
    assert_eq!(r.from, d("2026-02-28"));
    let r = RangeQuery::preset(RangePreset::Months3).resolve(d("2028-05-31")).unwrap();
    assert_eq!(r.from, d("2028-02-29"));
    let r = RangeQuery::preset(RangePreset::Months6).resolve(d("2026-01-10")).unwrap();
    assert_eq!((r.from, r.days()), (d("2025-07-10"), 185));
}

#[test]
fn granularity_follows_the_range_length() {
    let today = d("2026-11-27");
    let g = |p| RangeQuery::preset(p).resolve(today).unwrap().granularity;
    assert_eq!(g(RangePreset::Days30), Granularity::Day);
    assert_eq!(g(RangePreset::Months3), Granularity::Week);
    assert_eq!(g(RangePreset::Months6), Granularity::Week);
    assert_eq!(g(RangePreset::Months9), Granularity::Month);
}

#[test]
fn bad_ranges_are_refused_with_a_reason() {
    let today = d("2026-11-27");
    let q = RangeQuery::custom(d("2026-11-10"), d("2026-11-01"));
    assert!(matches!(q.resolve(today), Err(RangeError::FromAfterTo { .. })));
    let q = RangeQuery { range: Some("2y".into()), ..Default::default() };
    assert_eq!(q.resolve(today), Err(RangeError::UnknownPreset("2y".into())));
    let q = RangeQuery::custom(d("2024-01-01"), d("2026-01-01")).with_granularity(Granularity::Day);
    assert!(matches!(q.resolve(today), Err(RangeError::TooManyBuckets { .. })));
    let q = RangeQuery {
        range: Some("custom".into()),
        from: Some("2026-13-01".into()),
        to: Some("2026-11-01".into()),
        granularity: None,
    };
    assert!(matches!(q.resolve(today), Err(RangeError::BadDate { field: "from", .. })));
}

#[test]
fn custom_ranges_stay_between_2000_and_five_years_ahead() {
    let today = d("2026-11-27");
    let custom = |from: &str, to: &str| RangeQuery {
        range: Some("custom".into()),
        from: Some(from.into()),
        to: Some(to.into()),
        granularity: None,
    };
    assert!(custom("2000-01-01", "2000-12-31").resolve(today).is_ok());
    assert!(custom("2031-11-01", "2031-11-27").resolve(today).is_ok());
    for (from, to) in [
        ("1999-12-31", "2000-01-05"),
        ("2031-11-27", "2031-11-28"),
        ("-262000-01-01", "2026-01-01"),
        ("-262143-01-01", "-262143-01-01"),
        ("+262000-01-01", "+262000-01-31"),
        ("+262142-12-31", "+262142-12-31"),
    ] {
        match custom(from, to).resolve(today) {
            Err(RangeError::OutOfBounds { .. } | RangeError::BadDate { .. }) => {}
            other => panic!("{from}..{to}: {other:?}"),
        }
    }
    let e = custom("1800-01-01", "2026-01-01").resolve(today).unwrap_err();
    assert_eq!(e.to_string(), "from (1800-01-01) is outside the dates Tokenboard shows: 2000-01-01 to 2031-11-27");
    let long = "9".repeat(5_000_000);
    assert!(custom(&long, "2026-01-01").resolve(today).unwrap_err().to_string().len() < 100);
}

#[test]
fn week_buckets_start_monday_and_mark_partial_edges() {
    // 2026-11-04 is a Wednesday, 2026-11-20 a Friday.
    let r = RangeQuery::custom(d("2026-11-04"), d("2026-11-20"))
        .with_granularity(Granularity::Week)
        .resolve(d("2026-11-27"))
        .unwrap();
    let b = r.buckets();
    assert_eq!(b.len(), 3);
    assert_eq!((b[0].start, b[0].end, b[0].partial), (d("2026-11-04"), d("2026-11-08"), true));
    assert_eq!((b[1].start, b[1].end, b[1].partial), (d("2026-11-09"), d("2026-11-15"), false));
    assert_eq!((b[2].start, b[2].end, b[2].partial), (d("2026-11-16"), d("2026-11-20"), true));
}

#[test]
fn bucketize_gap_fills_and_ignores_outside_dates() {
    let r = RangeQuery::custom(d("2026-01-30"), d("2026-03-02"))
        .with_granularity(Granularity::Month)
        .resolve(d("2026-11-27"))
        .unwrap();
    let out = r.bucketize([(d("2026-01-29"), 100), (d("2026-01-31"), 5), (d("2026-03-02"), 7)]);
    let totals: Vec<i64> = out.iter().map(|(_, t)| *t).collect();
    assert_eq!(totals, vec![5, 0, 7]);
    assert!(out[0].0.partial && !out[1].0.partial && out[2].0.partial);
}

#[test]
fn previous_period_has_equal_length() {
    let r = RangeQuery::preset(RangePreset::Days30).resolve(d("2026-11-27")).unwrap();
    let (pf, pt) = r.previous();
    assert_eq!(pt, d("2026-10-28"));
    assert_eq!((pt - pf).num_days() + 1, 30);
}

#[test]
fn presets_and_granularities_have_one_spelling_in_urls_and_json() {
    for preset in RangePreset::PRESETS.into_iter().chain([RangePreset::Custom]) {
        assert_eq!(serde_json::to_string(&preset).unwrap(), format!("\"{}\"", preset.as_str()));
        assert_eq!(RangePreset::parse(preset.as_str()), Some(preset));
    }
    for granularity in Granularity::ALL {
        assert_eq!(serde_json::to_string(&granularity).unwrap(), format!("\"{}\"", granularity.as_str()));
        assert_eq!(Granularity::parse(granularity.as_str()), Some(granularity));
    }
    assert_eq!(RangePreset::parse("12m"), Some(RangePreset::Months12));
}
