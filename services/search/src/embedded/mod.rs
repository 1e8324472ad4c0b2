//! The embedded search index (tantivy): owns the index files on disk, applies product changes
//! newest-version-wins, answers searches, and swaps in complete rebuilds atomically.
//!
//! Layout of the directory it is opened on: one subdirectory per index generation
//! (`gen-<uuid>`) and a `CURRENT` file naming the one in use. A rebuild writes a new
//! generation beside the current one and `swap_in` repoints `CURRENT` at it, so a restart
//! always finds a complete index. One `EmbeddedIndex` per directory.

mod fields;
mod query;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument, Term};
use uuid::Uuid;

use self::fields::{Fields, STEMMED, VERSION};
use self::query::CategoryCounts;
use crate::document::{Change, Hit, MAX_PER_PAGE, ProductDocument, SearchQuery, SearchResults};

const POINTER_FILE: &str = "CURRENT";
const GENERATION_PREFIX: &str = "gen-";
/// Live changes come in small batches; a rebuild indexes the whole catalog at once.
const LIVE_WRITER_MEMORY: usize = 20_000_000;
const REBUILD_WRITER_MEMORY: usize = 100_000_000;

/// A product search index stored in a directory.
pub struct EmbeddedIndex {
    root: PathBuf,
    /// Searches clone the `Arc` and search without holding the lock, so a swap never waits
    /// for them and they never see a half-switched index.
    live: RwLock<Arc<Generation>>,
    /// Serialises changes, swaps and the journal of an open rebuild.
    writing: Arc<Mutex<Writing>>,
}

/// One complete index in its own subdirectory.
struct Generation {
    name: String,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

struct Writing {
    writer: IndexWriter,
    journal: Option<Journal>,
}

/// Changes made while a rebuild is open, replayed onto it before it is swapped in.
struct Journal {
    rebuild: Uuid,
    changes: Vec<Change>,
}

impl EmbeddedIndex {
    /// Opens the index in `dir`, creating an empty one if there is none.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let name = match read_pointer(dir)? {
            Some(name) => name,
            None => {
                let name = new_generation(dir)?;
                write_pointer(dir, &name)?;
                name
            }
        };
        remove_stale_generations(dir, &name)?;
        let index = Index::open_or_create(MmapDirectory::open(dir.join(&name))?, Fields::schema())
            .with_context(|| format!("opening search index {name}"))?;
        let writer = index.writer_with_num_threads(1, LIVE_WRITER_MEMORY)?;
        let generation = Generation::new(name, index)?;
        Ok(Self {
            root: dir.to_path_buf(),
            live: RwLock::new(Arc::new(generation)),
            writing: Arc::new(Mutex::new(Writing { writer, journal: None })),
        })
    }

    /// Indexes the products, each replacing the indexed product with its id unless that one
    /// (or its removal) is as new or newer. Returns how many were applied; they are searchable
    /// when this returns.
    pub fn upsert(&self, products: &[ProductDocument]) -> anyhow::Result<usize> {
        self.apply(products.iter().cloned().map(Change::Upsert).collect())
    }

    /// Removes the product unless the index holds a version as new or newer. A tombstone keeps
    /// the version so an older upsert arriving later cannot bring the product back. Returns
    /// whether the removal was applied.
    pub fn remove(&self, id: Uuid, version: i64) -> anyhow::Result<bool> {
        Ok(self.apply(vec![Change::Remove { id, version }])? > 0)
    }

    /// Applies the changes in one commit, each only where newer than what the index holds.
    /// Returns how many were applied; they are searchable when this returns.
    pub fn apply(&self, changes: Vec<Change>) -> anyhow::Result<usize> {
        let mut writing = lock(&self.writing)?;
        let live = self.live()?;
        let applied = match commit_changes(&mut writing.writer, &live, &changes) {
            Ok(applied) => applied,
            Err(error) => {
                writing.writer.rollback()?;
                return Err(error);
            }
        };
        if let Some(journal) = &mut writing.journal {
            journal.changes.extend(changes);
        }
        Ok(applied)
    }

    /// Finds the products matching `query`. Assumes a valid page (≥ 1) and page size
    /// (1..=[`MAX_PER_PAGE`]); the API validates them.
    pub fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchResults> {
        let started = Instant::now();
        let live = self.live()?;
        let fields = &live.fields;
        let searcher = live.reader.searcher();
        let mut stemmer = live.stemmer()?;
        let words = query::words(&query.q, &mut stemmer);
        let matching = query::build(fields, &words, query, true);
        let (total, facets) = if query.category.is_some() {
            let total = searcher.search(&matching, &Count)?;
            let unfiltered = query::build(fields, &words, query, false);
            (total, searcher.search(&unfiltered, &CategoryCounts)?)
        } else {
            searcher.search(&matching, &(Count, CategoryCounts))?
        };
        let per_page = query.per_page.clamp(1, MAX_PER_PAGE) as usize;
        // Beyond the last page there is nothing to rank; skipping also keeps an absurd page
        // number from sizing the ranking heap.
        let offset = usize::try_from(query.offset()).unwrap_or(usize::MAX);
        let addresses = if offset < total {
            query::top(&searcher, &matching, query.sort, offset..offset + per_page)?
        } else {
            Vec::new()
        };
        let hits = addresses
            .into_iter()
            .map(|address| {
                let product = fields.read_product(&searcher.doc::<TantivyDocument>(address)?)?;
                Ok(Hit {
                    highlighted_name: query::highlight(&product.name, &words, &mut stemmer),
                    highlighted_description: query::highlight(&product.description, &words, &mut stemmer),
                    product,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(SearchResults {
            hits,
            total: total as u64,
            facets,
            processing_time_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// How many products are searchable (tombstones not counted).
    pub fn document_count(&self) -> anyhow::Result<u64> {
        let live = self.live()?;
        let query = TermQuery::new(Term::from_field_bool(live.fields.live, true), IndexRecordOption::Basic);
        Ok(live.reader.searcher().search(&query, &Count)? as u64)
    }

    /// Starts writing a complete new index beside the current one. Searches keep using the
    /// current index until [`EmbeddedIndex::swap_in`]; changes made meanwhile are applied to
    /// the current index and recorded for the new one. Open the rebuild before reading the
    /// catalog it is fed from, so every change newer than that read is recorded. Opening
    /// another rebuild abandons this one; dropping it without swapping deletes its files.
    pub fn rebuild(&self) -> anyhow::Result<Rebuild> {
        let name = new_generation(&self.root)?;
        let dir = self.root.join(&name);
        let index = Index::create(MmapDirectory::open(&dir)?, Fields::schema(), Default::default())?;
        let writer = index.writer_with_num_threads(1, REBUILD_WRITER_MEMORY)?;
        let id = Uuid::now_v7();
        lock(&self.writing)?.journal = Some(Journal {
            rebuild: id,
            changes: Vec::new(),
        });
        Ok(Rebuild {
            id,
            owner: Arc::clone(&self.writing),
            dir,
            name,
            fields: Fields::of(&index.schema())?,
            index,
            writer: Some(writer),
            versions: HashMap::new(),
            swapped: false,
        })
    }

    /// Makes searches use the rebuilt index, after applying the changes made since it was
    /// opened and the current index's removals (each only where newer), then deletes the
    /// previous index.
    pub fn swap_in(&self, mut rebuild: Rebuild) -> anyhow::Result<()> {
        if !Arc::ptr_eq(&rebuild.owner, &self.writing) {
            bail!("the rebuild belongs to another search index");
        }
        let mut writer = rebuild.writer.take().context("the rebuild has no writer")?;
        writer.commit()?;
        let generation = Generation::new(rebuild.name.clone(), rebuild.index.clone())?;

        let mut writing = lock(&self.writing)?;
        let changes = match writing.journal.take() {
            Some(journal) if journal.rebuild == rebuild.id => journal.changes,
            other => {
                writing.journal = other;
                bail!("the rebuild was superseded by a newer one");
            }
        };
        let previous = self.live()?;
        let mut catch_up = tombstones(&previous.reader.searcher(), &previous.fields)?;
        catch_up.extend(changes);
        commit_changes(&mut writer, &generation, &catch_up)?;

        write_pointer(&self.root, &generation.name)?;
        // From here on `CURRENT` names the new generation: its files must survive any error.
        rebuild.swapped = true;
        *self.live.write().map_err(|_| anyhow!("search index lock poisoned"))? = Arc::new(generation);
        // The previous writer must let go of its files before they are deleted.
        drop(std::mem::replace(&mut writing.writer, writer));
        drop(writing);
        let previous_dir = self.root.join(&previous.name);
        // Searches still running on it keep their memory maps, which outlive the files.
        drop(previous);
        if let Err(error) = fs::remove_dir_all(&previous_dir) {
            // Harmless: `open` removes generations that `CURRENT` does not name.
            tracing::warn!(%error, dir = %previous_dir.display(), "could not delete the replaced search index");
        }
        Ok(())
    }

    fn live(&self) -> anyhow::Result<Arc<Generation>> {
        Ok(Arc::clone(
            &*self.live.read().map_err(|_| anyhow!("search index lock poisoned"))?,
        ))
    }
}

/// A complete new index being written; see [`EmbeddedIndex::rebuild`].
pub struct Rebuild {
    id: Uuid,
    owner: Arc<Mutex<Writing>>,
    dir: PathBuf,
    name: String,
    index: Index,
    fields: Fields,
    /// Taken by `swap_in`; an `Option` so `Drop` can close it before deleting the files.
    writer: Option<IndexWriter>,
    /// Versions added so far, so a product listed twice keeps its newest version.
    versions: HashMap<Uuid, i64>,
    swapped: bool,
}

impl Rebuild {
    /// Adds products to the new index.
    pub fn add(&mut self, products: &[ProductDocument]) -> anyhow::Result<()> {
        let writer = self.writer.as_ref().context("the rebuild was swapped in")?;
        for product in products {
            match self.versions.get(&product.id) {
                Some(&version) if version >= product.version => continue,
                Some(_) => {
                    writer.delete_term(self.fields.id_term(product.id));
                }
                None => {}
            }
            writer.add_document(self.fields.product(product)?)?;
            self.versions.insert(product.id, product.version);
        }
        Ok(())
    }
}

impl Drop for Rebuild {
    fn drop(&mut self) {
        if self.swapped {
            return;
        }
        drop(self.writer.take());
        if let Ok(mut writing) = self.owner.lock()
            && writing
                .journal
                .as_ref()
                .is_some_and(|journal| journal.rebuild == self.id)
        {
            writing.journal = None;
        }
        if let Err(error) = fs::remove_dir_all(&self.dir) {
            tracing::warn!(%error, dir = %self.dir.display(), "could not delete an abandoned search index rebuild");
        }
    }
}

impl Generation {
    fn new(name: String, index: Index) -> anyhow::Result<Self> {
        // Reloaded by hand right after each commit, so a change is searchable when the call
        // that made it returns.
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let fields = Fields::of(&index.schema())?;
        Ok(Self {
            name,
            index,
            reader,
            fields,
        })
    }

    fn stemmer(&self) -> anyhow::Result<TextAnalyzer> {
        self.index
            .tokenizers()
            .get(STEMMED)
            .context("the English stemming analyzer is not registered")
    }
}

/// Applies the changes that are newer than what `generation` holds, commits, and reloads its
/// reader. Returns how many were applied.
fn commit_changes(writer: &mut IndexWriter, generation: &Generation, changes: &[Change]) -> anyhow::Result<usize> {
    let fields = &generation.fields;
    let searcher = generation.reader.searcher();
    // Changes applied in this batch are not visible to the searcher yet.
    let mut pending: HashMap<Uuid, i64> = HashMap::new();
    let mut applied = 0;
    for change in changes {
        let id = change.id();
        let current = match pending.get(&id) {
            Some(&version) => Some(version),
            None => indexed_version(&searcher, fields, id)?,
        };
        if current.is_some_and(|current| current >= change.version()) {
            continue;
        }
        // A delete only affects documents added before it, so the replacement survives.
        writer.delete_term(fields.id_term(id));
        writer.add_document(match change {
            Change::Upsert(product) => fields.product(product)?,
            Change::Remove { id, version } => fields.tombstone(*id, *version),
        })?;
        pending.insert(id, change.version());
        applied += 1;
    }
    if !pending.is_empty() {
        writer.commit()?;
        generation.reader.reload()?;
    }
    Ok(applied)
}

/// The version of the product or tombstone indexed under `id`.
fn indexed_version(searcher: &Searcher, fields: &Fields, id: Uuid) -> anyhow::Result<Option<i64>> {
    let query = TermQuery::new(fields.id_term(id), IndexRecordOption::Basic);
    let newest = TopDocs::with_limit(1).order_by_fast_field::<i64>(VERSION, Order::Desc);
    Ok(searcher
        .search(&query, &newest)?
        .first()
        .and_then(|(version, _)| *version))
}

/// The removals an index remembers, as changes to carry over into a rebuild.
fn tombstones(searcher: &Searcher, fields: &Fields) -> anyhow::Result<Vec<Change>> {
    let query = TermQuery::new(Term::from_field_bool(fields.live, false), IndexRecordOption::Basic);
    searcher
        .search(&query, &DocSetCollector)?
        .into_iter()
        .map(|address| {
            let (id, version) = fields.read_tombstone(&searcher.doc(address)?)?;
            Ok(Change::Remove { id, version })
        })
        .collect()
}

fn lock(writing: &Mutex<Writing>) -> anyhow::Result<MutexGuard<'_, Writing>> {
    writing.lock().map_err(|_| anyhow!("search index lock poisoned"))
}

fn read_pointer(root: &Path) -> anyhow::Result<Option<String>> {
    match fs::read_to_string(root.join(POINTER_FILE)) {
        Ok(name) => Ok(Some(name.trim().to_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).context("reading the search index pointer"),
    }
}

/// Replaces the pointer atomically (write aside, sync, rename), so a crash leaves either the
/// old or the new generation named, never a torn name.
fn write_pointer(root: &Path, name: &str) -> anyhow::Result<()> {
    let staged = root.join(format!("{POINTER_FILE}.tmp"));
    let mut file = fs::File::create(&staged)?;
    file.write_all(name.as_bytes())?;
    file.sync_all()?;
    fs::rename(&staged, root.join(POINTER_FILE))?;
    fs::File::open(root)?.sync_all()?;
    Ok(())
}

/// Creates an empty generation directory and returns its name.
fn new_generation(root: &Path) -> anyhow::Result<String> {
    let name = format!("{GENERATION_PREFIX}{}", Uuid::now_v7());
    fs::create_dir(root.join(&name))?;
    Ok(name)
}

/// Deletes generations left by a crash mid-rebuild or mid-swap.
fn remove_stale_generations(root: &Path, current: &str) -> anyhow::Result<()> {
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(GENERATION_PREFIX) && name != current {
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}
