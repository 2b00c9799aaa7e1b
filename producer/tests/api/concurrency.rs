use crate::helpers::{spawn_app, unique_srn};
use futures_util::future::join_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_parallel_inserts_each_store_exactly_one_row() {
    let app = spawn_app().await;
    let srns: Vec<String> = (0..300).map(|_| unique_srn()).collect();

    let statuses = join_all(srns.iter().map(|srn| app.insert("Parallel", srn, "P"))).await;

    assert!(statuses.iter().all(|(s, _)| *s == 201), "{statuses:?}");
    let mut stored = app.srns_in_database().await;
    let mut expected = srns.clone();
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_inserts_of_one_srn_give_exactly_one_201() {
    let app = spawn_app().await;
    let srn = unique_srn();

    let results = join_all((0..50).map(|i| {
        let name = format!("Racer {i}");
        let srn = srn.clone();
        let app = &app;
        async move { app.insert(&name, &srn, "R").await }
    }))
    .await;

    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let conflicts = results.iter().filter(|(s, _)| *s == 409).count();
    assert_eq!((created, conflicts), (1, 49), "{results:?}");
    assert_eq!(app.srns_in_database().await, [srn]);
}
