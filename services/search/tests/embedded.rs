//! The embedded search index: the behaviour suite (`suite/`), then what is specific to the
//! embedded index — rebuild, swap and restart.

mod suite;

use std::collections::BTreeSet;
use std::ops::Deref;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use search_service::embedded::EmbeddedIndex;
use shop_testkit::TempDir;
use suite::catalog;

/// A fresh index in its own temporary directory, deleted afterwards (fields drop in order:
/// the index closes before its folder goes).
struct TestIndex {
    index: Option<EmbeddedIndex>,
    dir: TempDir,
}

impl TestIndex {
    fn empty() -> Self {
        let dir = TempDir::new("search-embedded");
        let index = Some(EmbeddedIndex::open(&dir.path).unwrap());
        Self { index, dir }
    }

    fn seeded() -> Self {
        let index = Self::empty();
        assert_eq!(index.upsert(&catalog::products()).unwrap(), 20);
        index
    }

    fn reopen(&mut self) {
        drop(self.index.take());
        self.index = Some(EmbeddedIndex::open(&self.dir.path).unwrap());
    }

    /// The index generations on disk.
    fn generations(&self) -> usize {
        std::fs::read_dir(&self.dir.path)
            .unwrap()
            .filter(|entry| entry.as_ref().unwrap().path().is_dir())
            .count()
    }
}

impl Deref for TestIndex {
    type Target = EmbeddedIndex;
    fn deref(&self) -> &EmbeddedIndex {
        self.index.as_ref().unwrap()
    }
}

run_all_checks!(async { TestIndex::seeded() });

/// (id, version, price) of every searchable product.
fn contents(index: &EmbeddedIndex) -> BTreeSet<(u128, i64, i64)> {
    let results = index.search(&catalog::browse()).unwrap();
    assert_eq!(results.total as usize, results.hits.len());
    results
        .hits
        .iter()
        .map(|hit| (hit.product.id.as_u128(), hit.product.version, hit.product.price_minor))
        .collect()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_rebuild_swaps_in_without_losing_changes_made_meanwhile() {
    use catalog::*;
    let mut index = TestIndex::seeded();
    // Deactivated before the rebuild: the snapshot will not list it.
    assert!(index.remove(id(3), 2).unwrap());

    let mut rebuild = index.rebuild().unwrap();
    // Changes arriving while the snapshot is read and written.
    let mut turntable = products().swap_remove(4);
    turntable.price_minor = 19_999;
    turntable.version = 2;
    assert_eq!(index.upsert(&[turntable.clone()]).unwrap(), 1);
    assert!(index.remove(id(2), 2).unwrap());
    let newcomer = product(21, "Milk Frother", "Foams milk for coffee.", "kitchen", 1_999, true);
    assert_eq!(index.upsert(std::slice::from_ref(&newcomer)).unwrap(), 1);

    // The snapshot predates those changes, and product 20 vanished from the catalog without an
    // event (the drift a rebuild repairs).
    let snapshot: Vec<_> = products()
        .into_iter()
        .filter(|p| ![3, 20].contains(&p.id.as_u128()))
        .collect();
    let (first, rest) = snapshot.split_at(10);
    rebuild.add(first).unwrap();
    rebuild.add(rest).unwrap();
    rebuild.add(&first[..1]).unwrap();

    // Until the swap, searches see the current index with every live change.
    assert_eq!(index.search(&find("sound design")).unwrap().total, 1);
    assert_eq!(index.document_count().unwrap(), 19);

    // Changes keep arriving from another thread while the swap happens, and searches
    // running meanwhile always see a complete index.
    let mut expected: BTreeSet<_> = snapshot
        .iter()
        .filter(|p| ![2, 5].contains(&p.id.as_u128()))
        .map(|p| (p.id.as_u128(), p.version, p.price_minor))
        .collect();
    let mut grinder = products().swap_remove(8);
    let (swapped, searched) = (AtomicBool::new(false), AtomicBool::new(false));
    std::thread::scope(|scope| {
        let index = &*index;
        let writer = scope.spawn(|| {
            let mut grinder = grinder.clone();
            for version in 2..=30 {
                grinder.version = version;
                grinder.price_minor = 9_000 + version;
                assert_eq!(index.upsert(&[grinder.clone()]).unwrap(), 1);
            }
        });
        // Searches from before the swap until one that started after it.
        let reader = scope.spawn(|| {
            loop {
                let after_the_swap = swapped.load(Ordering::SeqCst);
                let total = index.search(&browse()).unwrap().total;
                assert!((18..=19).contains(&total), "a search saw {total} products");
                searched.store(true, Ordering::SeqCst);
                if after_the_swap {
                    break;
                }
            }
        });
        while !searched.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        index.swap_in(rebuild).unwrap();
        swapped.store(true, Ordering::SeqCst);
        writer.join().unwrap();
        reader.join().unwrap();
    });
    grinder.version = 30;
    grinder.price_minor = 9_030;
    expected.remove(&(9, 1, 8_999));
    expected.insert((9, 30, 9_030));
    expected.insert((5, 2, 19_999));
    expected.insert((21, 1, 1_999));
    assert_eq!(contents(&index), expected);
    assert_eq!(index.search(&find("sound design")).unwrap().total, 0);
    assert_eq!(index.generations(), 1, "the replaced index is deleted");

    // Removals from before the rebuild are remembered by the new index.
    assert_eq!(index.upsert(&[products().swap_remove(2)]).unwrap(), 0);
    assert_eq!(index.upsert(&[products().swap_remove(1)]).unwrap(), 0);

    // A restart finds the swapped-in index.
    index.reopen();
    assert_eq!(contents(&index), expected);
    assert_eq!(index.upsert(&[products().swap_remove(2)]).unwrap(), 0);
    assert_eq!(index.search(&find("frother")).unwrap().hits[0].product, newcomer);
    assert_eq!(entries(&index.dir.path).len(), 2, "CURRENT and one generation");
}

#[test]
fn an_abandoned_rebuild_leaves_the_index_as_it_was() {
    let mut index = TestIndex::seeded();
    let mut abandoned = index.rebuild().unwrap();
    abandoned.add(&catalog::products()[..3]).unwrap();
    assert_eq!(index.generations(), 2);
    drop(abandoned);
    assert_eq!(index.generations(), 1);

    // A superseded rebuild cannot be swapped in; the newer one can.
    let superseded = index.rebuild().unwrap();
    let mut newer = index.rebuild().unwrap();
    assert!(index.swap_in(superseded).is_err());
    newer.add(&catalog::products()[..5]).unwrap();
    index.swap_in(newer).unwrap();
    assert_eq!(index.document_count().unwrap(), 5);

    index.reopen();
    assert_eq!(index.document_count().unwrap(), 5);
    assert_eq!(index.generations(), 1);
}

#[test]
fn the_index_can_be_shared_and_a_rebuild_moved_across_threads() {
    fn shared<T: Send + Sync>() {}
    fn moved<T: Send>() {}
    shared::<EmbeddedIndex>();
    moved::<search_service::embedded::Rebuild>();
}

#[test]
fn an_empty_index_opens_and_answers_nothing() {
    let mut index = TestIndex::empty();
    let results = index.search(&catalog::find("anything")).unwrap();
    assert_eq!((results.total, results.hits.len()), (0, 0));
    assert!(results.facets.is_empty());
    assert_eq!(index.document_count().unwrap(), 0);
    index.reopen();
    assert_eq!(index.document_count().unwrap(), 0);
}
