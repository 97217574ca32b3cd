#pragma once
// Picks a concept from the bundled terminology (SNOMED CT codes of common anatomy and findings):
// the search box filters by meaning or code as one types, Up/Down move through the matches and
// Enter takes the highlighted one.

#include <QDialog>

class QLineEdit;
class QListWidget;

namespace radmark::annotation {
struct TerminologyEntry;
}

namespace radmark::gui {

class TerminologyDialog : public QDialog {
    Q_OBJECT
  public:
    explicit TerminologyDialog(const QString& title, QWidget* parent = nullptr);

    // The highlighted concept when accepted; null when nothing matched what was typed.
    const annotation::TerminologyEntry* chosen() const;
    QString typedText() const;

    QLineEdit* searchBox() const { return search_; }
    QListWidget* matches() const { return matches_; }

  protected:
    void keyPressEvent(QKeyEvent* event) override;

  private:
    void filter(const QString& text);

    QLineEdit* search_ = nullptr;
    QListWidget* matches_ = nullptr;
};

// "SNOMED CT 10200004 Liver" (other schemes by their short name).
QString describeConcept(const std::string& scheme, const std::string& code,
                        const std::string& meaning);

} // namespace radmark::gui
