#pragma once
// The versions of the open stored study, newest first (short id, author, time, message, review
// state, voxels per segment), with "Open read-only" (also a double-click) and "New draft from
// this version". A view only: the store workspace fills it and acts on its requests.

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "annotation/Version.h"
#include "storage/Reviews.h"
#endif

#include <QWidget>

#include <optional>
#include <vector>

class QLabel;
class QPushButton;
class QTableWidget;

namespace radmark::gui {

class VersionsPanel : public QWidget {
    Q_OBJECT
  public:
    explicit VersionsPanel(QWidget* parent = nullptr);

    struct Entry {
        annotation::Version version;
        storage::ReviewState review = storage::ReviewState::Draft;
    };
    // Oldest first, as the store lists them; shown newest first. `shown` is marked in bold.
    void setVersions(const std::vector<Entry>& oldestFirst,
                     const std::optional<annotation::VersionId>& shown);
    void clear(const QString& reason); // no study open, or a role that has no versions
    QTableWidget* table() const { return table_; }

  signals:
    void openReadOnlyRequested(const annotation::VersionId& id);
    void newDraftRequested(const annotation::VersionId& id);

  private:
    std::optional<annotation::VersionId> selected() const;
    void updateButtons();

    QTableWidget* table_ = nullptr;
    QLabel* note_ = nullptr;
    QPushButton* openButton_ = nullptr;
    QPushButton* draftButton_ = nullptr;
    std::vector<annotation::VersionId> rows_; // newest first, like the table
};

} // namespace radmark::gui
