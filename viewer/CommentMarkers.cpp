#include "viewer/CommentMarkers.h"

#include "viewer/FourUpViewer.h"

namespace radmark::viewer {

CommentMarkers::CommentMarkers(FourUpViewer& viewer) : QObject(&viewer), viewer_(viewer) {
    for (int p = 0; p < 3; ++p)
        overlays_[std::size_t(p)] =
            std::make_unique<PointMarkerOverlay>(*viewer.sliceView(ViewPlane(p)));
    connect(&viewer, &FourUpViewer::cursorChanged, this, &CommentMarkers::refresh);
}

CommentMarkers::~CommentMarkers() = default;

void CommentMarkers::setMarkers(std::vector<PointMarker> markers) {
    markers_ = std::move(markers);
    refresh();
}

std::vector<int> CommentMarkers::shownMarkerIds(ViewPlane plane) const {
    return overlays_[std::size_t(plane)]->shownMarkerIds();
}

void CommentMarkers::refresh() {
    for (auto& overlay : overlays_) {
        if (markers_.empty() || !viewer_.volume())
            overlay->clear();
        else
            overlay->show(markers_, viewer_.cursor());
    }
}

} // namespace radmark::viewer
