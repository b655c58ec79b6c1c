//! The history on disk: what a run records is read back, what other runs
//! wrote survives, and damaged, foreign or huge files are refused with an
//! error, never a panic or an allocation they size.

use std::path::{Path, PathBuf};

use xtask_toolbox::layout::{CacheDir, StateBucket, StateDir};

use super::store::{self, MAX_INDEX_BYTES, MAX_SEGMENTS};
use super::{History, HistoryError, Manifest};
use crate::key::{KeyDefinition, KeyInputs};

fn state(dir: &Path) -> StateDir {
    CacheDir::new(dir).workspace_state("ws")
}

fn history_dir(state: &StateDir) -> PathBuf {
    state.path(StateBucket::History)
}

fn inputs(package: &str, file_hash: &str) -> KeyInputs {
    let mut inputs = KeyInputs::new(package, package, "check", KeyDefinition::default());
    inputs.files.insert("src/lib.rs".into(), file_hash.into());
    inputs
}

fn key(n: u16) -> String {
    format!("{n:04x}").repeat(16)
}

/// One run: loads, records `tasks` (label, key, file hash), saves.
fn run(state: &StateDir, tasks: &[(&str, String, &str)]) -> Option<String> {
    let (mut history, warning) = History::load(state);
    assert_eq!(warning, None);
    for (label, key, hash) in tasks {
        let package = label.split('#').next().unwrap();
        history.record(label, key, Manifest::of(&inputs(package, hash)));
    }
    history.save()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_run_writes_one_segment_and_the_index_and_is_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    let tasks: Vec<_> = (0..300u16)
        .map(|n| (format!("p{n}#check"), key(n)))
        .collect();
    let (mut history, _) = History::load(&state);
    for (label, key) in &tasks {
        history.record(label, key, Manifest::of(&inputs(label, "h1")));
    }
    assert!(
        !history_dir(&state).exists(),
        "recording writes nothing: files come at the end of the run"
    );
    assert_eq!(history.save(), None);

    let names = files(&history_dir(&state));
    let segments = names.iter().filter(|n| n.ends_with(".seg")).count();
    assert_eq!(segments, 1, "{names:?}");
    assert_eq!(names.len(), 3, "index, lock, one segment: {names:?}");
    for (label, key) in [&tasks[0], &tasks[299]] {
        let last = History::last(&state, label).unwrap().unwrap();
        assert_eq!(&last.key, key);
        assert_eq!(last.inputs, inputs(label, "h1"));
    }
    assert!(History::last(&state, "other#check").unwrap().is_none());
}

#[test]
fn an_unchanged_task_is_not_recorded_again_and_a_run_of_hits_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    run(&state, &[("a#check", key(1), "h1")]);
    let index = history_dir(&state).join(store::INDEX);
    // A save renames a new file over the index: a new inode.
    let inode = || std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&index).unwrap());
    let before = inode();

    let (mut history, _) = History::load(&state);
    assert!(history.is_current("a#check", &key(1)));
    assert!(!history.is_current("a#check", &key(2)));
    history.record("a#check", &key(1), Manifest::of(&inputs("a", "h1")));
    assert_eq!(history.save(), None);
    assert_eq!(inode(), before, "nothing was written");
    assert_eq!(files(&history_dir(&state)).len(), 3);
}

#[test]
fn two_runs_saving_one_after_the_other_keep_both_records() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    // Both load before either saves, as concurrent runs do.
    let (mut one, _) = History::load(&state);
    let (mut two, _) = History::load(&state);
    one.record("a#check", &key(1), Manifest::of(&inputs("a", "h1")));
    two.record("b#check", &key(2), Manifest::of(&inputs("b", "h2")));
    assert_eq!(one.save(), None);
    assert_eq!(two.save(), None);
    assert_eq!(
        History::last(&state, "a#check").unwrap().unwrap().key,
        key(1)
    );
    assert_eq!(
        History::last(&state, "b#check").unwrap().unwrap().key,
        key(2)
    );
    // The later save of a task wins; the earlier segment, no longer
    // pointed into, is removed.
    run(
        &state,
        &[("a#check", key(3), "h3"), ("b#check", key(4), "h4")],
    );
    let last = History::last(&state, "a#check").unwrap().unwrap();
    assert_eq!((last.key, last.inputs), (key(3), inputs("a", "h3")));
    let names = files(&history_dir(&state));
    assert_eq!(names.iter().filter(|n| n.ends_with(".seg")).count(), 1);
}

#[test]
fn many_runs_leave_a_handful_of_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    for n in 0..(3 * MAX_SEGMENTS as u16) {
        run(&state, &[(&format!("p{n}#check"), key(n), "h")]);
    }
    let names = files(&history_dir(&state));
    let segments = names.iter().filter(|n| n.ends_with(".seg")).count();
    assert!((1..=MAX_SEGMENTS).contains(&segments), "{names:?}");
    for n in 0..(3 * MAX_SEGMENTS as u16) {
        let label = format!("p{n}#check");
        let last = History::last(&state, &label).unwrap().unwrap();
        assert_eq!(last.key, key(n), "{label}");
    }
}

#[test]
fn a_save_cut_short_leaves_the_earlier_history_and_is_cleaned_up() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    run(&state, &[("a#check", key(1), "h1")]);
    let dir = history_dir(&state);
    // What a SIGKILL between the segment and the index leaves: a segment
    // no index points into, and a temp file of the index being written.
    let orphan = dir.join(format!("{}.seg", "ab".repeat(16)));
    std::fs::write(&orphan, b"{}").unwrap();
    let temp = dir.join(format!(
        "{}.index.json.1.tmp",
        xtask_toolbox::atomic::TEMP_PREFIX
    ));
    std::fs::write(&temp, b"{\"form").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(old)
        .unwrap();

    let (history, warning) = History::load(&state);
    assert_eq!(warning, None);
    assert!(history.is_current("a#check", &key(1)));
    run(&state, &[("b#check", key(2), "h2")]);
    assert!(!orphan.exists() && !temp.exists(), "{:?}", files(&dir));
    assert_eq!(
        History::last(&state, "a#check").unwrap().unwrap().key,
        key(1)
    );
}

/// Writes `bytes` as the index.
fn damage_index(state: &StateDir, bytes: &[u8]) {
    let dir = history_dir(state);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(store::INDEX), bytes).unwrap();
}

#[test]
fn a_truncated_or_foreign_index_is_one_warning_then_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    run(&state, &[("a#check", key(1), "h1")]);
    let whole = std::fs::read(history_dir(&state).join(store::INDEX)).unwrap();
    let v1_index = format!("{{\"a#check\": \"{}\"}}", key(1));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", whole[..whole.len() / 2].to_vec()),
        ("garbage", b"\xff\xfe not json".to_vec()),
        ("the v1 index", v1_index.into_bytes()),
        (
            "another format",
            String::from_utf8_lossy(&whole)
                .replace("\"format\":2", "\"format\":3")
                .into_bytes(),
        ),
        (
            "a segment name that climbs out",
            String::from_utf8_lossy(&whole)
                .replacen("\"segment\":\"", "\"segment\":\"../../../../x", 1)
                .into_bytes(),
        ),
    ];
    for (case, bytes) in cases {
        damage_index(&state, &bytes);
        let error = History::last(&state, "a#check").unwrap_err();
        assert!(
            matches!(error, HistoryError::Invalid { .. }),
            "{case}: {error}"
        );
        assert!(error.to_string().contains("index.json"), "{case}: {error}");
        let (mut history, warning) = History::load(&state);
        let warning = warning.unwrap_or_else(|| panic!("{case}: no warning"));
        assert!(warning.contains("ignoring the task history"), "{warning}");
        history.record("a#check", &key(1), Manifest::of(&inputs("a", "h1")));
        assert_eq!(history.save(), None, "{case}: warned once, at load");
        let last = History::last(&state, "a#check").unwrap().unwrap();
        assert_eq!(last.key, key(1), "{case}: the run replaced it");
    }
}

#[test]
fn a_huge_index_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    let dir = history_dir(&state);
    std::fs::create_dir_all(&dir).unwrap();
    // Sparse: 16 GiB claimed, nothing stored.
    let file = std::fs::File::create(dir.join(store::INDEX)).unwrap();
    file.set_len(16 << 30).unwrap();
    let error = History::last(&state, "a#check").unwrap_err();
    assert!(
        matches!(error, HistoryError::TooLarge { bytes, limit, .. } if bytes == 16 << 30 && limit == MAX_INDEX_BYTES),
        "{error}"
    );
    let (_, warning) = History::load(&state);
    assert!(
        warning
            .unwrap()
            .contains("more than a history index may be")
    );
}

/// The index's text with the first `"field":value` replaced.
fn edit_index(state: &StateDir, field: &str, value: &str) {
    let path = history_dir(state).join(store::INDEX);
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(&format!("\"{field}\":")).unwrap() + field.len() + 3;
    let end = start + text[start..].find([',', '}']).unwrap();
    let edited = format!("{}{value}{}", &text[..start], &text[end..]);
    std::fs::write(path, edited).unwrap();
}

#[test]
fn a_pointer_that_lies_about_its_record_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    let cases = [
        ("len", u64::MAX.to_string(), "invalid"),
        ("offset", u64::MAX.to_string(), "invalid"),
        ("len", "100000".to_string(), "damaged"),
        ("offset", "3".to_string(), "damaged"),
        ("hash", format!("\"{}\"", key(9)), "damaged"),
    ];
    for (field, value, expected) in cases {
        run(
            &state,
            &[("a#check", key(1), "h1"), ("b#check", key(2), "h2")],
        );
        edit_index(&state, field, &value);
        let error = History::last(&state, "a#check").unwrap_err();
        let kind = match error {
            HistoryError::Invalid { .. } => "invalid",
            HistoryError::Damaged { .. } => "damaged",
            _ => "other",
        };
        assert_eq!(kind, expected, "{field}={value}: {error}");
        // Start the next case from a clean history.
        std::fs::remove_dir_all(history_dir(&state)).unwrap();
    }
}

#[test]
fn a_damaged_segment_is_refused_and_the_other_records_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    run(
        &state,
        &[("a#check", key(1), "h1"), ("b#check", key(2), "h2")],
    );
    let dir = history_dir(&state);
    let segment = files(&dir)
        .into_iter()
        .find(|n| n.ends_with(".seg"))
        .unwrap();
    let path = dir.join(segment);
    let mut bytes = std::fs::read(&path).unwrap();
    // `a#check` is the first record: flip a byte inside it.
    bytes[5] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    let error = History::last(&state, "a#check").unwrap_err();
    assert!(matches!(error, HistoryError::Damaged { .. }), "{error}");
    assert_eq!(
        History::last(&state, "b#check").unwrap().unwrap().key,
        key(2)
    );

    std::fs::write(&path, b"").unwrap();
    let error = History::last(&state, "b#check").unwrap_err();
    assert!(matches!(error, HistoryError::Damaged { .. }), "{error}");
}

#[test]
fn an_unwritable_history_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state(tmp.path());
    // The bucket's directory is a file.
    let dir = history_dir(&state);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    std::fs::write(&dir, b"").unwrap();
    let (mut history, _) = History::load(&state);
    history.record("a#check", &key(1), Manifest::of(&inputs("a", "h1")));
    let warning = history.save().unwrap();
    assert!(
        warning.contains("could not save the task history"),
        "{warning}"
    );
}
