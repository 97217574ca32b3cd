#include "viewer/LabelEditor.h"

#include <vtkImageData.h>
#include <vtkLookupTable.h>
#include <vtkPointData.h>
#include <vtkUnsignedCharArray.h>
#include <vtkUnsignedShortArray.h>

#include <algorithm>

namespace radmark::viewer {

namespace {
constexpr double brushStepMm = 0.5;
constexpr double smallestBrushMm = 0.5;
constexpr double largestBrushMm = 100;
} // namespace

struct LabelEditor::Private {
    const imaging::Volume* volume = nullptr;
    std::unique_ptr<annotation::LabelMap> labels;
    annotation::SegmentList segments;
    annotation::BoxList boxes;
    annotation::UndoHistory history;
    annotation::Label activeSegment = 1;
    vtkSmartPointer<vtkImageData> image;
    vtkSmartPointer<vtkLookupTable> colours;
    EditMode mode = EditMode::Navigate;
    double brushRadiusMm = 5;
    std::unique_ptr<annotation::Tool> tool;
};

LabelEditor::LabelEditor(QObject* parent) : QObject(parent), d(new Private) {}

LabelEditor::~LabelEditor() = default;

void LabelEditor::startAnnotation(const imaging::Volume* volume) {
    d->tool.reset(); // edits of the previous annotation go with it
    d->history.clear();
    d->boxes = annotation::BoxList(volume ? volume->geometry().dims : imaging::Index3{0, 0, 0});
    d->segments = {};
    d->image = nullptr;
    d->colours = nullptr;
    d->labels.reset();
    d->volume = volume;
    if (!volume || volume->empty()) {
        emit annotationReplaced();
        return;
    }
    d->labels = std::make_unique<annotation::LabelMap>(volume->geometry());
    d->activeSegment = d->segments.add("Segment 1", annotation::Rgb{230, 60, 60}).label;

    const imaging::Geometry& g = volume->geometry();
    auto array = vtkSmartPointer<vtkUnsignedCharArray>::New();
    // The label map keeps its buffer for its lifetime; VTK only reads it (save = 1: not freed).
    array->SetVoidArray(const_cast<std::uint8_t*>(d->labels->data()),
                        vtkIdType(d->labels->voxelCount()), 1);
    array->SetName("labels");
    d->image = vtkSmartPointer<vtkImageData>::New();
    d->image->SetDimensions(g.dims[0], g.dims[1], g.dims[2]);
    d->image->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
    d->image->SetOrigin(0, 0, 0);
    d->image->GetPointData()->SetScalars(array);

    rebuildColours();
    activateTool();
    emit annotationReplaced();
}

// Fills the colour table from the segments, in place when the views already hold it.
void LabelEditor::rebuildColours() {
    if (!d->colours)
        d->colours = vtkSmartPointer<vtkLookupTable>::New();
    d->colours->SetNumberOfTableValues(256);
    d->colours->SetTableRange(0, 255);
    for (int value = 0; value < 256; ++value)
        d->colours->SetTableValue(value, 0, 0, 0, 0);
    for (const annotation::Segment& segment : d->segments.all()) {
        if (segment.label > 255 || !segment.visible)
            continue;
        d->colours->SetTableValue(segment.label, segment.colour.r / 255.0,
                                  segment.colour.g / 255.0, segment.colour.b / 255.0,
                                  segment.opacity);
    }
    d->colours->Build();
    d->colours->Modified();
}

bool LabelEditor::continueFrom(const annotation::OpenedAnnotation& opened) {
    if (!d->labels || !opened.labels.geometry().sameGridAs(d->labels->geometry()) ||
        opened.labels.width() != d->labels->width() || opened.segments.all().empty())
        return false;
    d->tool.reset();
    d->history.clear();
    // Copied into the buffer the overlay already wraps, so the views keep their binding.
    for (int chunk = 0; chunk < d->labels->chunkCount(); ++chunk) {
        const auto from = opened.labels.chunkBytes(chunk);
        const auto to = d->labels->chunkBytesForWriting(chunk);
        std::copy(from.begin(), from.end(), to.begin());
    }
    d->segments = opened.segments;
    d->boxes.replaceAll(opened.boxes.all());
    d->activeSegment = d->segments.all().front().label;
    d->labels->setReadOnly(opened.labels.readOnly());
    rebuildColours();
    activateTool();
    overlayModified();
    emit annotationReplaced();
    return true;
}

annotation::Label LabelEditor::addSegment(annotation::Segment segment) {
    if (!d->labels)
        return 0;
    segment.label = annotation::Label(d->segments.highestLabel() + 1);
    if (segment.label > d->labels->maxLabel()) {
        emit statusMessage(tr("No more segments fit in this annotation."));
        return 0;
    }
    const annotation::Label label = d->segments.add(std::move(segment)).label;
    rebuildColours();
    emit segmentsChanged();
    setActiveSegment(label);
    return label;
}

void LabelEditor::editSegment(annotation::Label label,
                              const std::function<void(annotation::Segment&)>& edit) {
    annotation::Segment* segment = d->segments.find(label);
    if (!segment)
        return;
    edit(*segment);
    segment->label = label; // the label value is the segment's identity in the voxels
    rebuildColours();
    activateTool(); // tools read locks when they open a stroke
    overlayModified();
    emit segmentsChanged();
}

void LabelEditor::removeSegment(annotation::Label label) {
    if (!d->labels || !d->segments.find(label))
        return;
    if (d->labels->readOnly()) {
        emit statusMessage(tr("This version is read-only: start a new draft from it to edit."));
        return;
    }
    if (d->segments.size() <= 1) {
        emit statusMessage(tr("An annotation keeps at least one segment: rename it instead."));
        return;
    }
    activateTool(); // a stroke still open goes into the history before the history is cleared
    const annotation::VoxelRegion bounds = d->labels->boundsOf(label);
    if (!bounds.empty()) {
        for (int z = bounds.min[2]; z <= bounds.max[2]; ++z)
            for (int y = bounds.min[1]; y <= bounds.max[1]; ++y)
                for (int x = bounds.min[0]; x <= bounds.max[0]; ++x)
                    if (d->labels->at({x, y, z}) == label)
                        d->labels->set({x, y, z}, 0);
    }
    std::vector<std::uint32_t> boxIds;
    for (const annotation::Box& box : d->boxes.all())
        if (box.segment == label)
            boxIds.push_back(box.id);
    for (std::uint32_t id : boxIds)
        d->boxes.remove(id);
    d->segments.remove(label);
    d->history.clear();
    if (d->activeSegment == label)
        d->activeSegment = d->segments.all().front().label;
    rebuildColours();
    activateTool();
    overlayModified();
    emit segmentsChanged();
    if (!boxIds.empty())
        emit boxesChanged();
    emit activeSegmentChanged(d->activeSegment);
}

void LabelEditor::setActiveSegment(annotation::Label label) {
    if (!d->segments.find(label) || label == d->activeSegment)
        return;
    d->activeSegment = label;
    activateTool();
    emit activeSegmentChanged(label);
}

void LabelEditor::setReadOnly(bool readOnly) {
    if (!d->labels)
        return;
    activateTool();
    d->labels->setReadOnly(readOnly);
}

bool LabelEditor::readOnly() const {
    return d->labels && d->labels->readOnly();
}

void LabelEditor::editBoxes(
    const std::function<annotation::BoxChange(annotation::BoxList&)>& edit,
    const std::string& description) {
    if (!d->labels)
        return;
    if (d->labels->readOnly()) {
        emit statusMessage(tr("This version is read-only: start a new draft from it to edit."));
        return;
    }
    annotation::BoxChange change;
    try {
        change = edit(d->boxes);
    } catch (const annotation::BoxError& error) {
        emit statusMessage(QString::fromStdString(error.what()));
        return;
    }
    if (change.before == change.after)
        return;
    activateTool(); // keeps the history in order: a stroke still open goes first
    annotation::UndoRecord record;
    record.description = description;
    record.boxes.push_back(std::move(change));
    d->history.push(std::move(record));
    emit boxesChanged();
}

annotation::LabelMap& LabelEditor::labelsForSaving() {
    static annotation::LabelMap none;
    return d->labels ? *d->labels : none;
}

const annotation::BoxList& LabelEditor::boxes() const {
    return d->boxes;
}

bool LabelEditor::hasAnnotation() const {
    return d->labels != nullptr;
}

const annotation::LabelMap& LabelEditor::labels() const {
    static const annotation::LabelMap none;
    return d->labels ? *d->labels : none;
}

const annotation::SegmentList& LabelEditor::segments() const {
    return d->segments;
}

annotation::Label LabelEditor::activeSegment() const {
    return d->activeSegment;
}

const annotation::UndoHistory& LabelEditor::history() const {
    return d->history;
}

vtkImageData* LabelEditor::overlayImage() const {
    return d->image;
}

vtkLookupTable* LabelEditor::overlayColours() const {
    return d->colours;
}

void LabelEditor::setMode(EditMode mode) {
    if (mode == d->mode)
        return;
    d->mode = mode;
    activateTool();
    emit modeChanged(mode);
    emit statusMessage(mode == EditMode::Navigate ? tr("Navigation") : brushText());
}

EditMode LabelEditor::mode() const {
    return d->mode;
}

double LabelEditor::brushRadiusMm() const {
    return d->brushRadiusMm;
}

void LabelEditor::setBrushRadiusMm(double radius) {
    d->brushRadiusMm = std::clamp(radius, smallestBrushMm, largestBrushMm);
    if (d->tool)
        d->tool->settings().set("radius_mm", d->brushRadiusMm);
    emit statusMessage(brushText());
}

void LabelEditor::growBrush() {
    setBrushRadiusMm(d->brushRadiusMm + brushStepMm);
}

void LabelEditor::shrinkBrush() {
    setBrushRadiusMm(d->brushRadiusMm - brushStepMm);
}

QString LabelEditor::brushText() const {
    const QString tool = d->mode == EditMode::Erase ? tr("Erase") : tr("Paint brush");
    return tr("%1: radius %2 mm ([ smaller, ] larger, Esc navigation)")
        .arg(tool)
        .arg(d->brushRadiusMm, 0, 'f', 1);
}

void LabelEditor::activateTool() {
    if (d->tool) {
        // Taking the records finishes a stroke still open, so no edit escapes the history.
        while (auto record = d->tool->takeUndoRecord())
            d->history.push(std::move(*record));
        d->tool.reset();
    }
    if (!d->labels || d->mode == EditMode::Navigate)
        return;
    d->tool = annotation::createTool(d->mode == EditMode::Erase ? "erase" : "paint");
    d->tool->settings().set("radius_mm", d->brushRadiusMm);
    annotation::ToolContext context;
    context.labels = d->labels.get();
    context.segments = &d->segments;
    context.image = d->volume;
    context.activeSegment = d->activeSegment;
    d->tool->activate(context);
}

void LabelEditor::handlePointer(annotation::PointerPhase phase, const imaging::Index3& voxel,
                                int normalAxis) {
    if (!d->tool)
        return;
    try {
        d->tool->handle({phase, voxel, annotation::SliceAxis(normalAxis)});
        // Only after the release: taking a record finishes the open stroke (one per drag).
        if (phase == annotation::PointerPhase::Release) {
            while (auto record = d->tool->takeUndoRecord())
                d->history.push(std::move(*record));
        }
    } catch (const std::exception& error) { // ToolError, ReadOnlyAnnotation: a clear message
        emit statusMessage(QString::fromStdString(error.what()));
    }
    if (!d->tool->takeDirtyRegion().empty())
        overlayModified();
}

bool LabelEditor::undo() {
    if (!d->labels || d->labels->readOnly())
        return false;
    activateTool(); // a stroke still open is finished into the history first
    const auto done = d->history.undo(*d->labels, d->boxes);
    if (!done)
        return false;
    overlayModified();
    emit boxesChanged();
    emit statusMessage(tr("Undone: %1").arg(QString::fromStdString(*done)));
    return true;
}

bool LabelEditor::redo() {
    if (!d->labels || d->labels->readOnly())
        return false;
    const auto done = d->history.redo(*d->labels, d->boxes);
    if (!done)
        return false;
    overlayModified();
    emit boxesChanged();
    emit statusMessage(tr("Redone: %1").arg(QString::fromStdString(*done)));
    return true;
}

void LabelEditor::overlayModified() {
    d->image->GetPointData()->GetScalars()->Modified();
    d->image->Modified();
    emit labelsChanged();
}

} // namespace radmark::viewer
