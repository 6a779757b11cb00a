"""The feature language: `specs/<team>/features.yaml`, one per team, what Feast is given per environment.

A team declares its entities (what features are about, by a join key), its data sources (event
tables with an event timestamp), its feature views (features of entities from one source, with a
TTL: a value older than that, as of a label's time, is missing rather than stale) and its feature
services (the set of features a model trains and is served on). Names are platform-wide, as in one
Feast project per environment: a view of one team may be used by another team's service or model.
compiler/pipeline/features.py checks the references across files.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from compiler.spec.types import Cron, DataUri, DnsLabel, Duration, Identifier, Strict, Text

# Feast's value types that these definitions may use (feast.types): what a Parquet column holds.
FeatureType = Literal["int32", "int64", "float32", "float64", "string", "bool", "bytes", "unix_timestamp"]


class FeaturesMetadata(Strict):
    team: DnsLabel
    """Owning team; must be a team of platform/platform.yaml and match the folder specs/<team>/."""
    description: Text | None = None
    """What these features are about."""


class Entity(Strict):
    name: Identifier
    """The entity's name, unique on the platform, e.g. customer."""
    join_key: Identifier
    """The column that identifies an instance in sources, label tables and serving requests."""
    value_type: Literal["int64", "string"] = "int64"
    """The join key's type."""
    description: Text
    """What one instance of the entity is."""


class Source(Strict):
    name: Identifier
    """The source's name, unique on the platform."""
    uri: DataUri
    """Where the event table lives (Parquet), e.g. s3://lake/payments/transactions.parquet."""
    timestamp_field: Identifier = "event_timestamp"
    """The column that says when each row's values became true (the point-in-time join uses it)."""
    created_timestamp_field: Identifier | None = None
    """Optional column that orders rows with the same event time (the latest wins)."""
    description: Text
    """What the table records."""


class Feature(Strict):
    name: Identifier
    """The feature's name, unique within its view (a column of the source)."""
    dtype: FeatureType
    """Its value type."""
    description: Text
    """What it measures."""


class FeatureView(Strict):
    name: Identifier
    """The view's name, unique on the platform."""
    entities: list[Identifier] = Field(min_length=1)
    """The entities the view's rows are keyed by (names of entities on the platform)."""
    source: Identifier
    """The source its values come from (the name of a source on the platform)."""
    ttl: Duration
    """How long a value stays valid after its event time; older values are missing, never served."""
    features: list[Feature] = Field(min_length=1)
    """The features, columns of the source."""
    online: bool = True
    """Whether the view is materialised to the online store for serving."""
    materialize_schedule: Cron = "0 * * * *"
    """When the view's new values are copied to the online store (cron, UTC)."""
    description: Text
    """What the view holds."""


class ServiceFeatures(Strict):
    view: Identifier
    """A feature view on the platform, this team's or another's."""
    features: list[Identifier] | None = None
    """The view's features to include; all of them where absent."""


class FeatureService(Strict):
    name: Identifier
    """The service's name, unique on the platform: what a model's training data names."""
    features: list[ServiceFeatures] = Field(min_length=1)
    """The features it serves, view by view."""
    description: Text
    """What the features are for."""


class FeaturesSpec(Strict):
    entities: list[Entity] = Field(default_factory=list)
    """Entities this team owns."""
    sources: list[Source] = Field(default_factory=list)
    """Event tables this team owns."""
    feature_views: list[FeatureView] = Field(default_factory=list)
    """Feature views this team owns."""
    feature_services: list[FeatureService] = Field(default_factory=list)
    """Feature services this team owns."""


class Features(Strict):
    """A team's feature definitions."""

    api_version: Literal["mlplat/v1"] = Field(alias="apiVersion")
    """Spec language version."""
    kind: Literal["Features"]
    """Always Features."""
    metadata: FeaturesMetadata
    """Who owns these definitions."""
    spec: FeaturesSpec
    """The entities, sources, feature views and feature services."""
