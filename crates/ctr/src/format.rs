//! TODO(helper): format
