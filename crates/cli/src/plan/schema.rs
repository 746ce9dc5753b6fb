//! How input lines are read, from `--schema`, `--schema-file`, `--map`,
//! `--type-map` and `--time-unit`: the search-log format, UBI, or a
//! [`Mapping`] (a preset, a schema file, or `--map`s alone).

use anyhow::Context;
use ctr::mapping::presets::preset;
use ctr::mapping::{Mapping, SchemaSpec};

use crate::args::{RunArgs, SchemaArg};
use crate::usage::UsageError;

/// The mapping `args` describe; `None` for the search-log format and UBI.
pub fn mapping(args: &RunArgs) -> anyhow::Result<Option<Mapping>> {
    let adjusted = !args.maps.is_empty() || !args.type_maps.is_empty();
    let preset_name =
        match args.schema {
            SchemaArg::Tutorial => None,
            SchemaArg::Ubi if adjusted || args.schema_file.is_some() => return Err(UsageError(
                "--map, --type-map and --schema-file do not apply to --schema ubi (its fields are fixed: \
                 docs/analytics.md)"
                    .into(),
            )
            .into()),
            SchemaArg::Ubi => return Ok(None),
            SchemaArg::Ga4 => Some("ga4"),
            SchemaArg::Snowplow => Some("snowplow"),
            SchemaArg::Elastic => Some("elastic"),
            SchemaArg::Algolia => Some("algolia"),
        };
    let (mut spec, source) = match (&args.schema_file, preset_name) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("--schema-file {}: cannot read", file.display()))?;
            let spec = SchemaSpec::from_toml(&text)
                .map_err(|e| UsageError(format!("--schema-file {}: {e}", file.display())))?;
            (spec, format!("--schema-file {}", file.display()))
        }
        (None, Some(name)) => {
            let p = preset(name).ok_or_else(|| UsageError(format!("--schema {name}: no such preset")))?;
            (p.spec(), format!("--schema {name}"))
        }
        (None, None) if adjusted => (SchemaSpec::default(), "--map".to_owned()),
        (None, None) => return Ok(None),
    };
    for (field, path) in &args.maps {
        spec.map(field, path)
            .map_err(|e| UsageError(format!("--map {field}={path}: {e}")))?;
    }
    for (name, kind) in &args.type_maps {
        spec.type_map(name, kind)
            .map_err(|e| UsageError(format!("--type-map {name}={kind}: {e}")))?;
    }
    let mut mapping = spec.build().map_err(|e| UsageError(format!("{source}: {e}")))?;
    if let Some(unit) = args.time_unit {
        mapping.time_unit = unit.into();
    }
    Ok(Some(mapping))
}
