//! Full reads served from the producer's snapshot: never older than the database, even
//! when the table is changed behind the system's back, and `ETag`/`If-None-Match`.

use crate::helpers::{spawn_app, spawn_app_with, unique_srn, Options, TestApp};
use inventory::db::Database;
use serde_json::Value;
use std::time::Duration;

/// A full read: status, ETag, and the SRNs listed.
async fn read_all(app: &TestApp) -> (u16, Option<String>, Vec<String>) {
    let response = app.get_response("/read_database").await;
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    let srns = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["SRN"].as_str().unwrap().to_owned())
        .collect();
    (status, etag, srns)
}

/// Runs SQL on the test's database as the admin, as an operator would by hand.
async fn by_hand(app: &TestApp, sql: &str) {
    test_support::execute(&app.settings.database_url, sql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_read_is_never_older_than_the_table() {
    let app = spawn_app().await;
    let (a, b) = (unique_srn(), unique_srn());
    app.insert("First", &a, "A").await;

    let (status, first_tag, srns) = read_all(&app).await;
    assert_eq!((status, srns), (200, vec![a.clone()]));
    let first_tag = first_tag.expect("a full read carries an ETag");
    // Unchanged table: the same list under the same tag.
    let (_, again, srns) = read_all(&app).await;
    assert_eq!(
        (again.as_deref(), srns),
        (Some(&*first_tag), vec![a.clone()])
    );

    // Through the system: the next read has it, under a new tag.
    app.insert("Second", &b, "B").await;
    let (_, tag, srns) = read_all(&app).await;
    assert_ne!(tag.as_deref(), Some(&*first_tag));
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(srns, expected);

    let (status, _) = app.get(&format!("/delete_record?SRN={a}")).await;
    assert_eq!(status, 200);
    assert_eq!(read_all(&app).await.2, vec![b.clone()]);

    // Behind the system's back: the triggers move the version on. (`Z…` sorts last.)
    by_hand(
        &app,
        "INSERT INTO students (srn, name, section) VALUES ('ZBYHAND1', 'Typed In', 'C')",
    )
    .await;
    assert_eq!(read_all(&app).await.2, vec![b.clone(), "ZBYHAND1".into()]);
    by_hand(
        &app,
        "UPDATE students SET srn = 'ZBYHAND2' WHERE srn = 'ZBYHAND1'",
    )
    .await;
    assert_eq!(read_all(&app).await.2, vec![b.clone(), "ZBYHAND2".into()]);
    by_hand(&app, "DELETE FROM students WHERE srn = 'ZBYHAND2'").await;
    assert_eq!(read_all(&app).await.2, vec![b]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_gets_304_until_the_table_changes() {
    let app = spawn_app().await;
    app.insert("Cached", &unique_srn(), "A").await;
    let (_, tag, _) = read_all(&app).await;
    let tag = tag.unwrap();

    let conditional = |tag: String| {
        app.client
            .get(app.url("/read_database"))
            .header("If-None-Match", tag)
            .send()
    };
    let response = conditional(tag.clone()).await.unwrap();
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["etag"].to_str().unwrap(), tag);
    assert!(response.bytes().await.unwrap().is_empty());

    app.insert("Newer", &unique_srn(), "A").await;
    let response = conditional(tag.clone()).await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "the table changed: the list comes again"
    );
    let fresh = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(fresh, tag);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);

    // Tags that are not ours are ignored, not errors.
    let response = conditional("\"something-else\"".into()).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_created_table_never_repeats_a_version() {
    let app = spawn_app().await;
    app.insert("Before", &unique_srn(), "A").await;
    let (_, before, _) = read_all(&app).await;
    // Re-creating the schema means forgetting which migrations ran, too.
    by_hand(
        &app,
        "DROP TABLE students, students_version, schema_migrations",
    )
    .await;
    let database = Database::new(&app.settings.database_url, 1, Duration::from_secs(5)).unwrap();
    inventory::migrate::migrate(&database).await.unwrap();

    let (status, after, srns) = read_all(&app).await;
    assert_eq!((status, srns), (200, Vec::<String>::new()));
    assert_ne!(after, before, "a new table starts a new epoch");
}

/// Every page of `path` (which takes `&after=`), following `X-Next-After`: each page's
/// body and next SRN.
async fn all_pages(app: &TestApp, path: &str) -> Vec<(String, Option<String>)> {
    let mut pages = Vec::new();
    let mut url = path.to_owned();
    loop {
        let response = app.get_response(&url).await;
        assert_eq!(response.status(), 200, "{url}");
        let next = response
            .headers()
            .get("x-next-after")
            .map(|v| v.to_str().unwrap().to_owned());
        pages.push((response.text().await.unwrap(), next.clone()));
        match next {
            Some(after) => url = format!("{path}&after={after}"),
            None => return pages,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_served_from_the_held_list_are_the_database_s_pages() {
    let app = spawn_app().await;
    for srn in ["P5", "P1", "P7", "P3", "P2", "P6", "P4"] {
        assert_eq!(app.insert(&format!("Név {srn}"), srn, "A").await.0, 201);
    }
    let paths = [
        "/read_database?limit=3",
        "/read_database?limit=7",
        "/read_database?limit=1000",
    ];
    // No full read yet: pages come from the database.
    let mut from_database = Vec::new();
    for path in paths {
        from_database.push(all_pages(&app, path).await);
    }
    let v1_from_database = app.get("/v1/records?limit=2&after=P3").await;
    let after_all = app.get("/read_database?after=P4").await;

    // A full read makes the producer hold the list; the same pages again.
    assert_eq!(read_all(&app).await.2.len(), 7);
    for (path, expected) in paths.iter().zip(&from_database) {
        assert_eq!(&all_pages(&app, path).await, expected, "{path}");
    }
    assert_eq!(
        app.get("/v1/records?limit=2&after=P3").await,
        v1_from_database
    );
    assert_eq!(app.get("/read_database?after=P4").await, after_all);
    let first = &from_database[0];
    assert_eq!(first.len(), 3);
    assert_eq!(first[0].1.as_deref(), Some("P3"));

    // A change: the held list is out of date, and pages show the change.
    assert_eq!(app.insert("Late", "P35", "A").await.0, 201);
    let pages = all_pages(&app, "/read_database?limit=3").await;
    assert_eq!(
        pages[1].1.as_deref(),
        Some("P5"),
        "P35, P4, P5: P35 sorts after P3"
    );
    let (_, body) = app.get("/read_database?limit=2&after=P3").await;
    assert_eq!(body[0]["SRN"], "P35");
}

/// consumer-read's answers to full reads so far, by outcome, from `/metrics`.
async fn read_outcomes(app: &TestApp) -> (u64, u64) {
    let text = app.metrics_text().await;
    let count = |outcome: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("consumer_replies_total")
                    && l.contains("consumer=\"consumer-read\"")
                    && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0, |n| n.parse().unwrap())
    };
    (count("records"), count("unchanged"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_kept_up_to_read_snapshot_max_bytes() {
    let kept = spawn_app().await;
    let none = spawn_app_with(Options {
        read_snapshot_max_bytes: 0,
        ..Options::default()
    })
    .await;
    for app in [&kept, &none] {
        app.insert("Kept?", &unique_srn(), "A").await;
        for _ in 0..3 {
            assert_eq!(read_all(app).await.2.len(), 1);
        }
    }
    assert_eq!(
        read_outcomes(&kept).await,
        (1, 2),
        "read once, then unchanged"
    );
    assert_eq!(read_outcomes(&none).await, (3, 0), "0 keeps nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_truncate_students_changed_brings_reads_up_to_date() {
    let app = spawn_app().await;
    app.insert("Gone", &unique_srn(), "A").await;
    assert_eq!(read_all(&app).await.2.len(), 1);
    // TRUNCATE fires no triggers: the held list stays until the version moves.
    by_hand(&app, "TRUNCATE TABLE students").await;
    by_hand(&app, "CALL students_changed()").await;
    assert_eq!(read_all(&app).await.2, Vec::<String>::new());
}
