//! `file:///dir`: artifacts as files `<dir>/<namespace>/<key>`, signatures beside
//! them as `<key>.tag`. Written to a temp file and renamed, so a reader never sees
//! half an artifact. Plain `std::fs`: a shared mount needs no object_store.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use crate::backend::{Backend, Fetched};
use crate::error::{Failure, FailureKind, RemoteError};
use crate::settings::RemoteSettings;

pub(crate) struct FileBackend {
    root: PathBuf,
}

impl FileBackend {
    pub(crate) fn new(settings: &RemoteSettings) -> Result<FileBackend, RemoteError> {
        let url = &settings.url.value;
        let path = url
            .strip_prefix("file://")
            .filter(|path| path.starts_with('/'))
            .ok_or_else(|| RemoteError::Incomplete {
                url: url.clone(),
                problem: "a file:// URL needs an absolute path".to_owned(),
                hint: "write it as file:///absolute/path".to_owned(),
            })?;
        Ok(FileBackend {
            root: PathBuf::from(path),
        })
    }

    fn path(&self, namespace: &str, key: &str) -> PathBuf {
        self.root.join(namespace).join(key)
    }

    fn io_failure(&self, what: &str, path: &std::path::Path, err: &io::Error) -> Failure {
        Failure::new(
            FailureKind::Unreachable,
            format!("failed to {what} {}: {err}", path.display()),
        )
    }

    fn write_atomic(&self, dest: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
        xtask_toolbox::atomic::write(dest, bytes)
    }
}

impl Backend for FileBackend {
    fn get(&self, namespace: &str, key: &str, max: u64) -> Result<Option<Fetched>, Failure> {
        let path = self.path(namespace, key);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.io_failure("read", &path, &err)),
        };
        let mut bytes = Vec::new();
        // Read one byte past the limit to tell "at the limit" from "over it".
        file.take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| self.io_failure("read", &path, &err))?;
        if bytes.len() as u64 > max {
            return Err(Failure::new(
                FailureKind::TooLarge,
                format!("{} is larger than {max} bytes", path.display()),
            ));
        }
        let tag_path = path.with_extension("tag");
        let tag = match fs::read_to_string(&tag_path) {
            Ok(tag) => Some(tag),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(self.io_failure("read", &tag_path, &err)),
        };
        Ok(Some(Fetched { bytes, tag }))
    }

    fn exists(&self, namespace: &str, key: &str) -> Result<bool, Failure> {
        let path = self.path(namespace, key);
        match fs::metadata(&path) {
            Ok(_) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(self.io_failure("read", &path, &err)),
        }
    }

    fn put(
        &self,
        namespace: &str,
        key: &str,
        bytes: &[u8],
        tag: Option<&str>,
        _duration: Duration,
    ) -> Result<(), Failure> {
        let path = self.path(namespace, key);
        // The tag first: a reader that finds the artifact finds its tag too.
        if let Some(tag) = tag {
            let tag_path = path.with_extension("tag");
            self.write_atomic(&tag_path, tag.as_bytes())
                .map_err(|err| self.io_failure("write", &tag_path, &err))?;
        }
        self.write_atomic(&path, bytes)
            .map_err(|err| self.io_failure("write", &path, &err))
    }

    fn sign_context(&self, namespace: &str) -> String {
        namespace.to_owned()
    }
}
