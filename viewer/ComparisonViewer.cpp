#include "viewer/ComparisonViewer.h"

#include "viewer/BoxOverlay.h"
#include "viewer/VolumeImageData.h"

#include "annotation/Agreement.h"

#include <QAction>
#include <QActionGroup>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QToolButton>
#include <QVBoxLayout>

#include <vtkImageData.h>
#include <vtkLookupTable.h>
#include <vtkPointData.h>
#include <vtkUnsignedCharArray.h>
#include <vtkUnsignedShortArray.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

namespace radmark::viewer {

namespace {

constexpr annotation::Rgb onlyReferenceHue{0, 0, 255}; // missed by the other side
constexpr annotation::Rgb onlyOtherHue{0, 255, 0};     // added by the other side
constexpr annotation::Rgb agreementFallback{255, 200, 0};
constexpr double overlayOpacity = 0.7;
// Closer than this (RGB distance) to a fixed hue, a segment's colour would be mistaken for it.
constexpr int confusableDistance = 100;

int distance(const annotation::Rgb& a, const annotation::Rgb& b) {
    const int dr = a.r - b.r, dg = a.g - b.g, db = a.b - b.b;
    return int(std::sqrt(double(dr * dr + dg * dg + db * db)));
}

// A label map's buffer as VTK image data in voxel index space, without a copy (read only).
vtkSmartPointer<vtkImageData> wrapLabels(const annotation::LabelMap& labels) {
    const imaging::Geometry& g = labels.geometry();
    const vtkIdType count = vtkIdType(labels.voxelCount());
    vtkSmartPointer<vtkDataArray> array;
    auto* data = const_cast<std::uint8_t*>(labels.data()); // VTK only reads it
    if (labels.width() == annotation::LabelWidth::UInt8) {
        auto bytes = vtkSmartPointer<vtkUnsignedCharArray>::New();
        bytes->SetVoidArray(data, count, /*save=*/1); // save=1: the label map keeps its buffer
        array = bytes;
    } else {
        auto words = vtkSmartPointer<vtkUnsignedShortArray>::New();
        words->SetVoidArray(data, count, 1);
        array = words;
    }
    array->SetName("labels");
    auto image = vtkSmartPointer<vtkImageData>::New();
    image->SetDimensions(g.dims[0], g.dims[1], g.dims[2]);
    image->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
    image->SetOrigin(0, 0, 0);
    image->GetPointData()->SetScalars(array);
    return image;
}

vtkSmartPointer<vtkLookupTable> emptyTable(int values) {
    auto table = vtkSmartPointer<vtkLookupTable>::New();
    table->SetNumberOfTableValues(values);
    table->SetTableRange(0, values - 1);
    for (int value = 0; value < values; ++value)
        table->SetTableValue(value, 0, 0, 0, 0);
    return table;
}

// One side wrapped for the views: its labels and its segments' fill and outline colours.
struct ShownSide {
    ComparedSide side;
    vtkSmartPointer<vtkImageData> image;
    vtkSmartPointer<vtkLookupTable> colours;
    vtkSmartPointer<vtkLookupTable> outlineColours;

    explicit ShownSide(ComparedSide compared) : side(std::move(compared)) {
        image = wrapLabels(*side.labels);
        const int values = side.labels->width() == annotation::LabelWidth::UInt8
                               ? 256
                               : std::max(256, int(side.segments.highestLabel()) + 1);
        colours = emptyTable(values);
        outlineColours = emptyTable(256);
        for (const annotation::Segment& segment : side.segments.all()) {
            if (!segment.visible)
                continue;
            // Outlines are drawn for labels up to 255 only (SliceView's outline layer).
            const bool outline =
                segment.display == annotation::SegmentDisplay::Outline && segment.label < 256;
            (outline ? outlineColours : colours)
                ->SetTableValue(segment.label, segment.colour.r / 255.0, segment.colour.g / 255.0,
                                segment.colour.b / 255.0, outline ? 1.0 : segment.opacity);
        }
        colours->Build();
        outlineColours->Build();
    }
    std::vector<DrawnBox> drawnBoxes(std::optional<annotation::Rgb> colour) const {
        std::vector<DrawnBox> drawn;
        for (const annotation::Box& box : side.boxes) {
            const annotation::Segment* segment = side.segments.find(box.segment);
            drawn.push_back({box,
                             colour    ? *colour
                             : segment ? segment->colour
                                       : annotation::Rgb{255, 255, 255},
                             false});
        }
        return drawn;
    }
};

// A segment as the overlay sees it: present on the first side, the second, or both.
struct OverlaySegment {
    std::optional<annotation::Segment> first, second;
};

// Overlay values: 0 nothing, 3k + 1 both sides have segment pair k, 3k + 2 only the first
// side, 3k + 3 only the second. A voxel the sides give to different segments shows as the
// first side's extra voxel of its segment.
template <class First, class Second, class Out>
void classifyVoxels(const annotation::LabelMap& first, const annotation::LabelMap& second,
                    const std::vector<int>& pairOfFirst, const std::vector<int>& pairOfSecond,
                    Out* out) {
    const auto* a = reinterpret_cast<const First*>(first.data());
    const auto* b = reinterpret_cast<const Second*>(second.data());
    const std::size_t sliceVoxels = first.chunkVoxels();
    for (int z = 0; z < first.chunkCount(); ++z) {
        // Slices unlabelled on both sides are never touched: their zero pages stay unmapped.
        if (first.chunkIsEmpty(z) && second.chunkIsEmpty(z))
            continue;
        const std::size_t begin = std::size_t(z) * sliceVoxels, end = begin + sliceVoxels;
        for (std::size_t i = begin; i < end; ++i) {
            const unsigned la = a[i], lb = b[i];
            if ((la | lb) == 0)
                continue;
            const int pa = la ? pairOfFirst[la] : -1, pb = lb ? pairOfSecond[lb] : -1;
            out[i] = Out(pa == pb ? 3 * pa + 1 : pa >= 0 ? 3 * pa + 2 : 3 * pb + 3);
        }
    }
}

} // namespace

annotation::Rgb overlayColour(OverlayClass kind, const annotation::Rgb& segmentColour) {
    switch (kind) {
    case OverlayClass::OnlyReference:
        return onlyReferenceHue;
    case OverlayClass::OnlyOther:
        return onlyOtherHue;
    case OverlayClass::Agreement:
        break;
    }
    const bool confusable = distance(segmentColour, onlyReferenceHue) < confusableDistance ||
                            distance(segmentColour, onlyOtherHue) < confusableDistance;
    return confusable ? agreementFallback : segmentColour;
}

struct ComparisonViewer::Private {
    std::shared_ptr<imaging::Volume> volume;
    vtkSmartPointer<vtkImageData> image;
    SliceCursor cursor;
    ViewPlane plane = ViewPlane::Axial;
    WindowLevel windowLevel;

    std::array<SliceView*, 2> views{};
    std::array<QLabel*, 2> headings{};
    QLabel* legend = nullptr;
    QComboBox* planes = nullptr;
    std::array<std::unique_ptr<BoxOverlay>, 2> boxes;
    std::array<std::unique_ptr<PointMarkerOverlay>, 2> markerOverlays;

    // As given to setSides: [0] the first reference, [1] the other; `swapped` puts [1] left.
    std::array<std::optional<ShownSide>, 2> sides;
    bool swapped = false;
    bool overlay = false;
    bool pin = false;
    std::vector<PointMarker> markers;

    // The overlay: one value per voxel (see classifyVoxels) in a zero-filled buffer, so only
    // the pages holding labels of either side are ever resident.
    std::vector<OverlaySegment> pairs;
    annotation::ZeroedBuffer overlayVoxels;
    vtkSmartPointer<vtkImageData> overlayImage;
    vtkSmartPointer<vtkLookupTable> overlayColours;

    QAction* overlayAction = nullptr;
    QAction* swapAction = nullptr;
    QAction* pinAction = nullptr;
    std::array<QAction*, 3> planeActions{};

    const ShownSide& at(int position) const { return *sides[std::size_t(position ^ swapped)]; }
    bool shown() const { return sides[0].has_value() && sides[1].has_value(); }
    void buildOverlay();
};

void ComparisonViewer::Private::buildOverlay() {
    const annotation::LabelMap& first = *sides[0]->side.labels;
    const annotation::LabelMap& second = *sides[1]->side.labels;
    pairs.clear();
    // Segments paired as the metrics table pairs them (annotation::matchSegments: code, else
    // name); then labels in the voxels that no segment describes (matched by value), so that
    // every labelled voxel shows.
    const annotation::SegmentList& firstSegments = sides[0]->side.segments;
    const annotation::SegmentList& secondSegments = sides[1]->side.segments;
    std::vector<int> pairOfFirst(std::size_t(first.maxLabel()) + 1, -1);
    std::vector<int> pairOfSecond(std::size_t(second.maxLabel()) + 1, -1);
    const annotation::SegmentMatching matching =
        annotation::matchSegments(firstSegments, secondSegments);
    for (const annotation::SegmentPair& matched : matching.pairs) {
        pairOfFirst[matched.reference] = pairOfSecond[matched.compared] = int(pairs.size());
        pairs.push_back(
            {firstSegments.get(matched.reference), secondSegments.get(matched.compared)});
    }
    for (annotation::Label label : matching.onlyInReference) {
        pairOfFirst[label] = int(pairs.size());
        pairs.push_back({firstSegments.get(label), std::nullopt});
    }
    for (annotation::Label label : matching.onlyInCompared) {
        pairOfSecond[label] = int(pairs.size());
        pairs.push_back({std::nullopt, secondSegments.get(label)});
    }
    const auto unnamed = [](annotation::Label label) {
        annotation::Segment segment;
        segment.label = label;
        segment.name = "Label " + std::to_string(label);
        segment.colour = {160, 160, 160};
        return segment;
    };
    const auto firstCounts = first.voxelCounts(), secondCounts = second.voxelCounts();
    for (const auto& [label, count] : firstCounts)
        if (pairOfFirst[label] < 0) {
            pairOfFirst[label] = int(pairs.size());
            pairs.push_back({unnamed(label), std::nullopt});
        }
    for (const auto& [label, count] : secondCounts)
        if (pairOfSecond[label] < 0) {
            const bool firstHasIt = firstCounts.count(label) && !firstSegments.find(label);
            if (firstHasIt && !pairs[std::size_t(pairOfFirst[label])].second) {
                pairOfSecond[label] = pairOfFirst[label];
                pairs[std::size_t(pairOfFirst[label])].second = unnamed(label);
            } else {
                pairOfSecond[label] = int(pairs.size());
                pairs.push_back({std::nullopt, unnamed(label)});
            }
        }

    const std::size_t voxels = first.voxelCount();
    const bool bytes = 3 * pairs.size() + 1 <= 255;
    overlayVoxels = annotation::ZeroedBuffer(voxels * (bytes ? 1 : 2));
    const bool firstBytes = first.width() == annotation::LabelWidth::UInt8;
    const bool secondBytes = second.width() == annotation::LabelWidth::UInt8;
    const auto classify = [&]<class Out>(Out* out) {
        if (firstBytes && secondBytes)
            classifyVoxels<std::uint8_t, std::uint8_t>(first, second, pairOfFirst, pairOfSecond,
                                                       out);
        else if (firstBytes)
            classifyVoxels<std::uint8_t, std::uint16_t>(first, second, pairOfFirst, pairOfSecond,
                                                        out);
        else if (secondBytes)
            classifyVoxels<std::uint16_t, std::uint8_t>(first, second, pairOfFirst, pairOfSecond,
                                                        out);
        else
            classifyVoxels<std::uint16_t, std::uint16_t>(first, second, pairOfFirst, pairOfSecond,
                                                         out);
    };
    vtkSmartPointer<vtkDataArray> array;
    if (bytes) {
        classify(overlayVoxels.data());
        auto values = vtkSmartPointer<vtkUnsignedCharArray>::New();
        values->SetVoidArray(overlayVoxels.data(), vtkIdType(voxels), 1);
        array = values;
    } else {
        auto* words = reinterpret_cast<std::uint16_t*>(overlayVoxels.data());
        classify(words);
        auto values = vtkSmartPointer<vtkUnsignedShortArray>::New();
        values->SetVoidArray(words, vtkIdType(voxels), 1);
        array = values;
    }
    const imaging::Geometry& g = first.geometry();
    overlayImage = vtkSmartPointer<vtkImageData>::New();
    overlayImage->SetDimensions(g.dims[0], g.dims[1], g.dims[2]);
    overlayImage->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
    overlayImage->SetOrigin(0, 0, 0);
    overlayImage->GetPointData()->SetScalars(array);
    overlayColours = emptyTable(std::max(256, int(3 * pairs.size() + 1)));
}

ComparisonViewer::ComparisonViewer(QWidget* parent) : QWidget(parent), d(new Private) {
    setObjectName(QStringLiteral("comparisonViewer"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);

    // Actions first: the tool row shows them and the workstation can put them in its menus.
    const auto action = [this](const QString& text, const QKeySequence& key, bool checkable) {
        auto* a = new QAction(text, this);
        a->setShortcut(key);
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        a->setCheckable(checkable);
        a->setToolTip(QStringLiteral("%1 (%2)").arg(text, key.toString(QKeySequence::NativeText)));
        addAction(a);
        return a;
    };
    d->overlayAction = action(tr("Overlay"), QKeySequence(Qt::Key_O), true);
    d->overlayAction->setObjectName(QStringLiteral("compareOverlay"));
    connect(d->overlayAction, &QAction::toggled, this, &ComparisonViewer::setOverlayMode);
    d->swapAction = action(tr("Swap sides"), QKeySequence(Qt::Key_S), false);
    d->swapAction->setObjectName(QStringLiteral("compareSwap"));
    connect(d->swapAction, &QAction::triggered, this, &ComparisonViewer::swapSides);
    d->pinAction = action(tr("Pin comment"), QKeySequence(Qt::Key_P), true);
    d->pinAction->setObjectName(QStringLiteral("comparePin"));
    connect(d->pinAction, &QAction::toggled, this, &ComparisonViewer::setPinMode);
    auto* planeGroup = new QActionGroup(this);
    for (ViewPlane plane : allViewPlanes) {
        QAction* a = action(tr(viewPlaneName(plane)),
                            QKeySequence(Qt::ALT | Qt::Key(Qt::Key_1 + int(plane))), true);
        a->setChecked(plane == d->plane);
        planeGroup->addAction(a);
        connect(a, &QAction::triggered, this, [this, plane] { setPlane(plane); });
        d->planeActions[std::size_t(plane)] = a;
    }

    auto* tools = new QHBoxLayout;
    tools->setContentsMargins(4, 2, 4, 0);
    d->planes = new QComboBox(this);
    d->planes->setObjectName(QStringLiteral("comparePlane"));
    for (ViewPlane plane : allViewPlanes)
        d->planes->addItem(tr(viewPlaneName(plane)));
    d->planes->setToolTip(tr("View plane (Alt+1, Alt+2, Alt+3)"));
    connect(d->planes, &QComboBox::activated, this,
            [this](int index) { setPlane(ViewPlane(index)); });
    tools->addWidget(d->planes);
    for (QAction* a : {d->overlayAction, d->swapAction, d->pinAction}) {
        auto* button = new QToolButton(this);
        button->setDefaultAction(a);
        tools->addWidget(button);
    }
    tools->addStretch(1);
    layout->addLayout(tools);

    auto* headings = new QHBoxLayout;
    headings->setContentsMargins(4, 0, 4, 0);
    for (int position = 0; position < 2; ++position) {
        auto* heading = new QLabel(this);
        heading->setObjectName(position == 0 ? QStringLiteral("referenceHeading")
                                             : QStringLiteral("otherHeading"));
        heading->setTextFormat(Qt::RichText);
        heading->setWordWrap(true);
        d->headings[std::size_t(position)] = heading;
        headings->addWidget(heading, 1);
    }
    layout->addLayout(headings);
    d->legend = new QLabel(this);
    d->legend->setObjectName(QStringLiteral("overlayLegend"));
    d->legend->setTextFormat(Qt::RichText);
    d->legend->setWordWrap(true);
    d->legend->setContentsMargins(4, 0, 4, 0);
    d->legend->hide();
    layout->addWidget(d->legend);

    auto* views = new QHBoxLayout;
    views->setSpacing(2);
    for (int position = 0; position < 2; ++position) {
        auto* view = new SliceView(d->plane, this);
        view->setObjectName(position == 0 ? QStringLiteral("referenceView")
                                          : QStringLiteral("otherView"));
        d->views[std::size_t(position)] = view;
        views->addWidget(view, 1);
        d->boxes[std::size_t(position)] = std::make_unique<BoxOverlay>(*view);
        d->markerOverlays[std::size_t(position)] = std::make_unique<PointMarkerOverlay>(*view);
        connect(view, &SliceView::cursorMoved, this, &ComparisonViewer::onCursorMoved);
        connect(view, &SliceView::windowLevelChanged, this, &ComparisonViewer::setWindowLevel);
        // One zoom and pan: whatever one view does, the other takes over.
        connect(view, &SliceView::zoomOrPanChanged, this, [this, position] {
            SliceView* from = d->views[std::size_t(position)];
            d->views[std::size_t(1 - position)]->setZoomAndPan(from->zoom(), from->pan());
        });
        connect(view, &SliceView::editPointer, this,
                [this](annotation::PointerPhase phase, imaging::Index3 voxel) {
                    if (d->pin && phase == annotation::PointerPhase::Press)
                        emit pointPinned({double(voxel[0]), double(voxel[1]), double(voxel[2])});
                });
    }
    layout->addLayout(views, 1);
    showSides();
}

ComparisonViewer::~ComparisonViewer() {
    // Overlays go before the views; the views hold the wrapped images, released before the
    // volume and the label maps go.
    for (auto& overlay : d->boxes)
        overlay.reset();
    for (auto& overlay : d->markerOverlays)
        overlay.reset();
    for (auto* view : d->views)
        view->clearImage();
}

void ComparisonViewer::setVolume(std::shared_ptr<imaging::Volume> volume) {
    for (auto* view : d->views)
        view->clearImage();
    d->sides = {};
    d->swapped = false;
    d->overlayImage = nullptr;
    d->overlayColours = nullptr;
    d->overlayVoxels = {};
    d->pairs.clear();
    d->image = nullptr;
    d->volume.reset();
    d->cursor = SliceCursor();
    if (volume && !volume->empty()) {
        d->volume = std::move(volume);
        d->cursor = SliceCursor(d->volume->geometry());
        d->image = wrapVolume(*d->volume);
        d->image->SetOrigin(0, 0, 0);
        const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        d->image->SetDirectionMatrix(identity);
        const auto [min, max] = d->volume->scalarRange();
        for (auto* view : d->views)
            view->setImage(d->image, &d->cursor, max - min);
        setWindowLevel(defaultWindowLevel(*d->volume));
    }
    showSides();
    emit cursorChanged();
}

const imaging::Volume* ComparisonViewer::volume() const {
    return d->volume.get();
}

void ComparisonViewer::setSides(ComparedSide reference, ComparedSide other) {
    if (!d->volume)
        throw ComparisonError("Open an image before comparing annotations of it.");
    for (const ComparedSide* side : {&reference, &other}) {
        if (!side->labels)
            throw ComparisonError("One of the two versions has no label map to compare.");
        if (!side->labels->geometry().sameGridAs(d->volume->geometry()))
            throw ComparisonError("The two versions were not drawn on the grid of this image "
                                  "(a different series or resampled): they cannot be shown "
                                  "side by side.");
    }
    // The views let go of the old buffers before they are released.
    for (auto* view : d->views)
        view->setLabelOverlay(nullptr, nullptr);
    d->sides[0].emplace(std::move(reference));
    d->sides[1].emplace(std::move(other));
    d->swapped = false;
    // The overlay image is built when the overlay is first shown.
    d->overlayImage = nullptr;
    d->overlayColours = nullptr;
    d->overlayVoxels = {};
    d->pairs.clear();
    showSides();
}

bool ComparisonViewer::hasSides() const {
    return d->shown();
}

const ComparedSide& ComparisonViewer::reference() const {
    if (!d->shown())
        throw ComparisonError("No versions are being compared.");
    return d->at(0).side;
}

const ComparedSide& ComparisonViewer::other() const {
    if (!d->shown())
        throw ComparisonError("No versions are being compared.");
    return d->at(1).side;
}

void ComparisonViewer::swapSides() {
    if (!d->shown())
        return;
    d->swapped = !d->swapped;
    rebuildOverlayColours();
    showSides();
    emit sidesSwapped();
}

void ComparisonViewer::rebuildOverlayColours() {
    if (!d->overlayColours)
        return;
    // Which given side is the reference decides which extra voxels are "missed" and "added".
    const OverlayClass onlyFirst =
        d->swapped ? OverlayClass::OnlyOther : OverlayClass::OnlyReference;
    const OverlayClass onlySecond =
        d->swapped ? OverlayClass::OnlyReference : OverlayClass::OnlyOther;
    const auto set = [this](std::size_t value, const annotation::Rgb& c) {
        d->overlayColours->SetTableValue(vtkIdType(value), c.r / 255.0, c.g / 255.0, c.b / 255.0,
                                         overlayOpacity);
    };
    for (std::size_t k = 0; k < d->pairs.size(); ++k) {
        const OverlaySegment& pair = d->pairs[k];
        const auto& referenceSegment = d->swapped ? pair.second : pair.first;
        const annotation::Segment& segment =
            referenceSegment ? *referenceSegment : (pair.first ? *pair.first : *pair.second);
        set(3 * k + 1, overlayColour(OverlayClass::Agreement, segment.colour));
        set(3 * k + 2, overlayColour(onlyFirst, segment.colour));
        set(3 * k + 3, overlayColour(onlySecond, segment.colour));
    }
    d->overlayColours->Build();
    d->overlayColours->Modified();
}

void ComparisonViewer::showSides() {
    const auto swatch = [](const annotation::Rgb& c) {
        return QStringLiteral("<span style=\"color:#%1\">&#9632;</span>")
            .arg((c.r << 16) | (c.g << 8) | c.b, 6, 16, QLatin1Char('0'));
    };
    for (int position = 0; position < 2; ++position) {
        QLabel* heading = d->headings[std::size_t(position)];
        const QString role = position == 0 ? tr("Reference") : tr("Compared");
        if (!d->shown()) {
            heading->setText(QStringLiteral("<b>%1</b>: %2").arg(role, tr("no version")));
            continue;
        }
        const SideLabel& label = d->at(position).side.label;
        QStringList parts;
        if (!label.title.isEmpty())
            parts << label.title.toHtmlEscaped();
        if (!label.author.isEmpty())
            parts << label.author.toHtmlEscaped();
        if (label.timeUtc.isValid())
            parts << label.timeUtc.toUTC().toString(QStringLiteral("yyyy-MM-dd HH:mm 'UTC'"));
        if (!label.shortHash.isEmpty())
            parts << QStringLiteral("<tt>%1</tt>").arg(label.shortHash.toHtmlEscaped());
        heading->setText(
            QStringLiteral("<b>%1</b>: %2").arg(role, parts.join(QStringLiteral(" · "))));
        heading->setToolTip(heading->text());
    }
    if (d->overlay && d->shown() && !d->overlayImage) {
        d->buildOverlay();
        rebuildOverlayColours();
    }
    d->views[1]->setVisible(!d->overlay);
    d->legend->setVisible(d->overlay && d->shown());
    if (d->overlay && d->shown()) {
        QStringList rows;
        for (const OverlaySegment& pair : d->pairs) {
            const auto& referenceSegment = d->swapped ? pair.second : pair.first;
            const annotation::Segment& segment =
                referenceSegment ? *referenceSegment : (pair.first ? *pair.first : *pair.second);
            rows << swatch(overlayColour(OverlayClass::Agreement, segment.colour)) +
                        QStringLiteral(" ") + QString::fromStdString(segment.name).toHtmlEscaped();
        }
        d->legend->setText(tr("Both: %1 &nbsp; %2 only in the reference (missed) &nbsp; "
                              "%3 only in the compared version (added)")
                               .arg(rows.join(QStringLiteral(", ")), swatch(onlyReferenceHue),
                                    swatch(onlyOtherHue)));
    }
    if (d->volume) {
        for (int position = 0; position < 2; ++position) {
            SliceView* view = d->views[std::size_t(position)];
            if (!d->shown()) {
                view->setLabelOverlay(nullptr, nullptr);
            } else if (d->overlay && position == 0) {
                view->setLabelOverlay(d->overlayImage, d->overlayColours);
            } else {
                const ShownSide& side = d->at(position);
                view->setLabelOverlay(side.image, side.colours, side.outlineColours);
            }
        }
    }
    refreshOverlays();
}

void ComparisonViewer::refreshOverlays() {
    for (int position = 0; position < 2; ++position) {
        BoxOverlay& boxes = *d->boxes[std::size_t(position)];
        PointMarkerOverlay& markers = *d->markerOverlays[std::size_t(position)];
        std::vector<DrawnBox> drawn;
        if (d->volume && d->shown()) {
            if (d->overlay && position == 0) {
                // Both sides' boxes in the hue of that side's extra voxels.
                drawn = d->at(0).drawnBoxes(onlyReferenceHue);
                const std::vector<DrawnBox> others = d->at(1).drawnBoxes(onlyOtherHue);
                drawn.insert(drawn.end(), others.begin(), others.end());
            } else {
                drawn = d->at(position).drawnBoxes(std::nullopt);
            }
        }
        // Nothing to draw and nothing drawn: a wheel step costs no overlay rebuild.
        if (!drawn.empty() || boxes.shownBoxCount() > 0) {
            if (d->volume)
                boxes.show(drawn, d->cursor);
            else
                boxes.clear();
        }
        if (!d->markers.empty() || !markers.shownMarkerIds().empty()) {
            if (d->volume)
                markers.show(d->markers, d->cursor);
            else
                markers.clear();
        }
    }
}

void ComparisonViewer::setPlane(ViewPlane plane) {
    d->plane = plane;
    d->planes->setCurrentIndex(int(plane));
    d->planeActions[std::size_t(plane)]->setChecked(true);
    for (auto* view : d->views) {
        view->setPlane(plane);
        view->setWindowLevel(d->windowLevel);
    }
    refreshOverlays();
}

ViewPlane ComparisonViewer::plane() const {
    return d->plane;
}

void ComparisonViewer::setOverlayMode(bool on) {
    if (on == d->overlay)
        return;
    d->overlay = on;
    d->overlayAction->setChecked(on);
    showSides();
    emit overlayModeChanged(on);
}

bool ComparisonViewer::overlayMode() const {
    return d->overlay;
}

void ComparisonViewer::setWindowLevel(const WindowLevel& windowLevel) {
    d->windowLevel = windowLevel;
    for (auto* view : d->views)
        view->setWindowLevel(windowLevel);
}

WindowLevel ComparisonViewer::windowLevel() const {
    return d->windowLevel;
}

const SliceCursor& ComparisonViewer::cursor() const {
    return d->cursor;
}

void ComparisonViewer::moveCursorTo(const imaging::Vec3& index) {
    if (d->volume && d->cursor.moveTo(index))
        onCursorMoved();
}

void ComparisonViewer::onCursorMoved() {
    for (auto* view : d->views)
        view->cursorChanged();
    refreshOverlays();
    emit cursorChanged();
}

void ComparisonViewer::setMarkers(std::vector<PointMarker> markers) {
    d->markers = std::move(markers);
    refreshOverlays();
}

const std::vector<PointMarker>& ComparisonViewer::markers() const {
    return d->markers;
}

void ComparisonViewer::setPinMode(bool on) {
    d->pin = on;
    d->pinAction->setChecked(on);
    // The views' pointer channel: a press reports the voxel instead of moving the crosshair.
    for (auto* view : d->views)
        view->setEditing(on);
}

bool ComparisonViewer::pinMode() const {
    return d->pin;
}

SliceView* ComparisonViewer::view(int position) const {
    return d->views[std::size_t(position)];
}

QLabel* ComparisonViewer::heading(int position) const {
    return d->headings[std::size_t(position)];
}

const BoxOverlay& ComparisonViewer::boxOverlay(int position) const {
    return *d->boxes[std::size_t(position)];
}

const PointMarkerOverlay& ComparisonViewer::markerOverlay(int position) const {
    return *d->markerOverlays[std::size_t(position)];
}

QAction* ComparisonViewer::overlayAction() const {
    return d->overlayAction;
}

QAction* ComparisonViewer::swapAction() const {
    return d->swapAction;
}

QAction* ComparisonViewer::pinAction() const {
    return d->pinAction;
}

QAction* ComparisonViewer::planeAction(ViewPlane plane) const {
    return d->planeActions[std::size_t(plane)];
}

void ComparisonViewer::renderAll() {
    for (auto* view : d->views)
        if (view->isVisible())
            view->renderNow();
}

} // namespace radmark::viewer
