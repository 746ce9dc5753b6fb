//! TODO(helper): metrics
