"""The generators the platform ships, written into the database (idempotent)."""

from dataclasses import dataclass, field

from generation.models import Generator
from generation.pipelines import default_generators


@dataclass
class RegisterReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


def register_generators(tiny_only: bool = False) -> RegisterReport:
    """Create or update the shipped Generator rows, matched by name.

    New tiny twins are enabled and new real checkpoints disabled (enabling one means downloading
    its weights). An existing row keeps its `enabled` flag and its queue; its other shipped fields
    are brought back to the published defaults.
    """
    report = RegisterReport()
    for row in default_generators():
        if tiny_only and row["checkpoint"]:
            continue
        fields = {key: value for key, value in row.items() if key not in ("name", "enabled")}
        generator = Generator.objects.filter(name=row["name"]).first()
        if generator is None:
            Generator.objects.create(name=row["name"], enabled=row["enabled"], **fields)
            report.created.append(row["name"])
            continue
        changed = [key for key, value in fields.items() if getattr(generator, key) != value]
        if changed:
            for key in changed:
                setattr(generator, key, fields[key])
            generator.save(update_fields=changed)
            report.updated.append(row["name"])
        else:
            report.unchanged.append(row["name"])
    return report
