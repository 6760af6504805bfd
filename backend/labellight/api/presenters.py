"""From service results to response schemas (URLs of images are built here, in one place)."""

from labellight.api.schemas import (
    ClassificationReportPublic,
    ClassifierPublic,
    ClassPublic,
    ImagePublic,
    LearningCurvePoint,
    ProjectPublic,
    TrustPublic,
)
from labellight.db.models import Classifier, Image, LabelClass, Project
from labellight.services.model_trust import Trust, classifier_baselines
from labellight.services.projects import ProjectSummary

API = "/api/v1"


# Class hotkeys in the classes' order: 1-9, then 0, then letters. The letters leave out the labeling views' own
# keys: c (confirm a guess in Review) and s (skip in one-at-a-time labeling).
HOTKEYS = "1234567890abdefghijklmnopqrtuvwxyz"


def class_public(label_class: LabelClass) -> ClassPublic:
    position = label_class.position
    return ClassPublic(id=label_class.id, name=label_class.name, color=label_class.color,
                       hotkey=HOTKEYS[position] if position < len(HOTKEYS) else None)


def classes_public(project: Project) -> list[ClassPublic]:
    return [class_public(c) for c in project.classes]


def project_public(summary: ProjectSummary) -> ProjectPublic:
    p = summary.project
    return ProjectPublic(
        id=p.id, name=p.name, created_at=p.created_at,
        image_count=summary.counts.image_count, labeled_count=summary.counts.labeled_count,
        classes=classes_public(p),
        backbone_version=summary.backbone.version if summary.backbone else None,
        classifier_version=summary.classifier.version if summary.classifier else None,
        cv_accuracy=summary.classifier.cv_accuracy if summary.classifier else None,
        last_activity_at=summary.last_activity_at,
    )


def image_public(image: Image) -> ImagePublic:
    base = f"{API}/projects/{image.project_id}/images/{image.id}"
    return ImagePublic(id=image.id, filename=image.filename, width=image.width, height=image.height,
                       class_id=image.class_id, thumbnail_url=f"{base}/thumbnail", file_url=f"{base}/file")


def classifier_public(classifier: Classifier, project: Project) -> ClassifierPublic:
    return ClassifierPublic(version=classifier.version, cv_accuracy=classifier.cv_accuracy,
                            n_labels=classifier.n_labels, n_folds=classifier.n_folds,
                            classes=classes_public(project),
                            metrics=ClassificationReportPublic.model_validate(classifier.metrics)
                            if classifier.metrics is not None else None,
                            cv_scope=classifier.cv_scope, created_at=classifier.created_at)


def trust_public(trust: Trust) -> TrustPublic:
    base = trust.baselines
    return TrustPublic(trustworthy=trust.trustworthy, reason=trust.reason, chance=base.chance if base else None,
                       majority_baseline=base.majority if base else None, n_scored=base.n if base else None,
                       p_value=trust.p_value, folds_warning=trust.folds_warning)


def curve_point(classifier: Classifier) -> LearningCurvePoint:
    base = classifier_baselines(classifier)
    return LearningCurvePoint(version=classifier.version, n_labels=classifier.n_labels,
                              cv_accuracy=classifier.cv_accuracy, chance=base.chance if base else None,
                              majority_baseline=base.majority if base else None)
