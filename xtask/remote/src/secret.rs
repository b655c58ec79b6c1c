//! Secrets and URL masking live in the shared toolbox (backup and deploy need
//! them too); this crate uses them through these names.

pub use xtask_toolbox::secret::{Scrubber, Secret, is_secret_name, mask_url_credentials};
