#include "app/gui/security/AdminPanel.h"
#include "storage/AuditTrail.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <QComboBox>
#include <QEventLoop>
#include <QMessageBox>
#include <QProgressDialog>
#include <QTimer>
#include <QDateEdit>
#include <QFile>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <atomic>
#include <exception>
#include <thread>

namespace radmark::gui {

namespace {
QTableWidget* makeTable(QWidget* parent, const QStringList& headers, const char* name) {
    auto* t = new QTableWidget(0, int(headers.size()), parent);
    t->setObjectName(name);
    t->setHorizontalHeaderLabels(headers);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->setSelectionMode(QAbstractItemView::SingleSelection);
    t->horizontalHeader()->setStretchLastSection(true);
    t->verticalHeader()->hide();
    return t;
}

void setRow(QTableWidget* t, int row, const QStringList& cells) {
    for (int c = 0; c < cells.size(); ++c)
        t->setItem(row, c, new QTableWidgetItem(cells[c]));
}

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

} // namespace

AdminPanel::AdminPanel(storage::Session& session, QWidget* parent)
    : AdminPanel(storage::sessionAdministration(session), nullptr, parent) {}

AdminPanel::AdminPanel(storage::Administration& admin, QWidget* parent)
    : AdminPanel(nullptr, &admin, parent) {}

AdminPanel::AdminPanel(std::unique_ptr<storage::Administration> owned,
                       storage::Administration* admin, QWidget* parent)
    : QWidget(parent), owned_(std::move(owned)), admin_(admin ? *admin : *owned_) {
    setObjectName("adminPanel");
    auto* tabs = new QTabWidget(this);

    // Users and roles.
    auto* usersPage = new QWidget;
    users_ =
        makeTable(usersPage, {tr("User"), tr("Role"), tr("Status"), tr("Since")}, "usersTable");
    newName_ = new QLineEdit;
    newName_->setObjectName("newUserName");
    newRole_ = new QComboBox;
    newRole_->setObjectName("newUserRole");
    newRole_->addItems({"annotator", "reviewer", "admin"});
    newPassword_ = new QLineEdit;
    newPassword_->setObjectName("newUserPassword");
    newPassword_->setEchoMode(QLineEdit::Password);
    auto* add = new QPushButton(tr("Add user"));
    add->setObjectName("addUserButton");
    auto* disable = new QPushButton(tr("Disable selected"));
    disable->setObjectName("disableUserButton");
    auto* rotate = new QPushButton(tr("Rotate key"));
    rotate->setObjectName("rotateKeyButton");
    rotate->setToolTip(tr("A new database key for the remaining users: copies of the keyring "
                          "taken before open nothing afterwards. Disabling a user does this too."));
    auto* addForm = new QHBoxLayout;
    addForm->addWidget(newName_);
    addForm->addWidget(newRole_);
    addForm->addWidget(newPassword_);
    addForm->addWidget(add);
    addForm->addWidget(disable);
    addForm->addWidget(rotate);
    auto* usersLayout = new QVBoxLayout(usersPage);
    usersLayout->addWidget(users_);
    usersLayout->addLayout(addForm);
    tabs->addTab(usersPage, tr("Users"));

    // Assignments.
    auto* assignPage = new QWidget;
    assignUser_ = new QComboBox;
    assignUser_->setObjectName("assignUser");
    assignStudy_ = new QComboBox;
    assignStudy_->setObjectName("assignStudy");
    auto* assign = new QPushButton(tr("Assign"));
    assign->setObjectName("assignButton");
    assignments_ = makeTable(assignPage, {tr("Study"), tr("Description")}, "studiesTable");
    auto* assignRow = new QHBoxLayout;
    assignRow->addWidget(new QLabel(tr("Annotator")));
    assignRow->addWidget(assignUser_);
    assignRow->addWidget(new QLabel(tr("Study")));
    assignRow->addWidget(assignStudy_);
    assignRow->addWidget(assign);
    auto* assignLayout = new QVBoxLayout(assignPage);
    assignLayout->addLayout(assignRow);
    assignLayout->addWidget(assignments_);
    tabs->addTab(assignPage, tr("Assignments"));

    // Access log.
    auto* auditPage = new QWidget;
    filterUser_ = new QLineEdit;
    filterUser_->setObjectName("auditFilterUser");
    filterUser_->setPlaceholderText(tr("any user"));
    filterAction_ = new QComboBox;
    filterAction_->setObjectName("auditFilterAction");
    filterAction_->setEditable(true);
    filterAction_->addItems({"", "login", "failed login", "lock", "unlock", "logout", "open study",
                             "save", "review decision", "import", "export", "user add",
                             "user disable", "user passwd", "assign", "policy change",
                             "audit verify", "audit checkpoint", "break-glass login",
                             "policy ignored", "key rewrap", "failed logins tampered",
                             "key rotation requested", "key rotation completed", "key rotation"});
    filterSince_ = new QDateEdit(QDate(2000, 1, 1));
    filterSince_->setObjectName("auditFilterSince");
    filterSince_->setDisplayFormat("yyyy-MM-dd");
    filterSince_->setCalendarPopup(true);
    auto* show = new QPushButton(tr("Show"));
    show->setObjectName("auditShowButton");
    audit_ = makeTable(
        auditPage,
        {tr("#"), tr("Time (UTC)"), tr("User"), tr("Action"), tr("Object"), tr("Details")},
        "auditTable");
    auditKeyFile_ = new QLineEdit;
    auditKeyFile_->setObjectName("auditKeyFile");
    auditKeyFile_->setPlaceholderText(tr("audit key file (checks every MAC)"));
    checkpointFile_ = new QLineEdit;
    checkpointFile_->setObjectName("checkpointFile");
    checkpointFile_->setPlaceholderText(tr("checkpoint file (optional)"));
    auto* verify = new QPushButton(tr("Verify"));
    verify->setObjectName("verifyButton");
    auto* filterRow = new QHBoxLayout;
    filterRow->addWidget(new QLabel(tr("User")));
    filterRow->addWidget(filterUser_);
    filterRow->addWidget(new QLabel(tr("Action")));
    filterRow->addWidget(filterAction_);
    filterRow->addWidget(new QLabel(tr("Since")));
    filterRow->addWidget(filterSince_);
    filterRow->addWidget(show);
    auto* verifyRow = new QHBoxLayout;
    verifyRow->addWidget(auditKeyFile_);
    verifyRow->addWidget(checkpointFile_);
    verifyRow->addWidget(verify);
    auto* auditLayout = new QVBoxLayout(auditPage);
    auditLayout->addLayout(filterRow);
    auditLayout->addWidget(audit_);
    auditLayout->addLayout(verifyRow);
    tabs->addTab(auditPage, tr("Access log"));

    status_ = new QLabel;
    status_->setObjectName("adminStatus");
    status_->setWordWrap(true);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(tabs);
    layout->addWidget(status_);

    connect(add, &QPushButton::clicked, this, &AdminPanel::addUser);
    connect(disable, &QPushButton::clicked, this, &AdminPanel::disableUser);
    connect(rotate, &QPushButton::clicked, this, &AdminPanel::rotateKey);
    connect(assign, &QPushButton::clicked, this, &AdminPanel::assignStudy);
    connect(show, &QPushButton::clicked, this, &AdminPanel::showAuditLog);
    connect(verify, &QPushButton::clicked, this, &AdminPanel::verifyAuditLog);
    refresh();
}

AdminPanel::~AdminPanel() = default;

QString AdminPanel::statusText() const {
    return status_->text();
}

void AdminPanel::report(const QString& message, bool error) {
    status_->setStyleSheet(error ? "color: #c0392b" : "");
    status_->setText(message);
}

void AdminPanel::refresh() {
    try {
        const auto users = admin_.users();
        users_->setRowCount(int(users.size()));
        assignUser_->clear();
        for (int i = 0; i < int(users.size()); ++i) {
            const auto& u = users[std::size_t(i)];
            setRow(users_, i,
                   {q(u.name), q(storage::roleName(u.role)),
                    u.disabled ? tr("disabled") : tr("active"), q(u.created)});
            if (u.role == storage::Role::Annotator && !u.disabled)
                assignUser_->addItem(q(u.name));
        }
        const auto studies = admin_.studies();
        assignments_->setRowCount(int(studies.size()));
        assignStudy_->clear();
        for (int i = 0; i < int(studies.size()); ++i) {
            const auto& s = studies[std::size_t(i)];
            setRow(assignments_, i, {q(s.label), q(s.description)});
            assignStudy_->addItem(q(s.label), qlonglong(s.id));
        }
        showAuditLog();
    } catch (const std::exception& e) {
        users_->setRowCount(0);
        audit_->setRowCount(0);
        report(q(e.what()), true);
    }
}

void AdminPanel::addUser() {
    std::string password = newPassword_->text().toStdString();
    newPassword_->clear();
    try {
        const std::string name = newName_->text().trimmed().toStdString();
        admin_.addUser(name, storage::parseRole(newRole_->currentText().toStdString()), password);
        newName_->clear();
        refresh();
        report(tr("User %1 added.").arg(q(name)), false);
    } catch (const std::exception& e) {
        report(q(e.what()), true);
    }
    std::fill(password.begin(), password.end(), '\0');
}

void AdminPanel::disableUser() {
    const int row = users_->currentRow();
    if (row < 0) {
        report(tr("Select a user first."), true);
        return;
    }
    const std::string name = users_->item(row, 0)->text().toStdString();
    runRotation(
        tr("Disabling %1 and rotating the store key...").arg(q(name)),
        [&](const storage::KeyRotationProgress& progress) {
            return admin_.disableUser(name, progress);
        },
        tr("User %1 disabled; their key was removed and the store key rotated").arg(q(name)));
}

void AdminPanel::rotateKey() {
    runRotation(
        tr("Rotating the store key..."),
        [&](const storage::KeyRotationProgress& progress) {
            return admin_.rotateKey("admin's request (Admin panel)", progress);
        },
        tr("Store key rotated"));
}

void AdminPanel::runRotation(
    const QString& title,
    const std::function<storage::KeyRotationResult(const storage::KeyRotationProgress&)>& job,
    const QString& done) {
    QProgressDialog dialog(title, QString(), 0, 100, this);
    dialog.setObjectName("keyRotationProgress");
    dialog.setWindowTitle(tr("Key rotation"));
    dialog.setWindowModality(Qt::WindowModal);
    dialog.setCancelButton(nullptr);
    dialog.setMinimumDuration(0);
    dialog.setAutoClose(false);
    dialog.setAutoReset(false);
    dialog.setValue(0);
    dialog.show();

    static const char* const stages[] = {"sealing", "rekeying", "writing", "done"};
    std::atomic<int> percent{0}, stage{0};
    std::atomic<bool> finished{false};
    storage::KeyRotationResult result;
    std::exception_ptr error;
    emit sessionInUse(true);
    std::thread worker([&] {
        try {
            result = job([&](const std::string& name, double fraction) {
                percent = int(fraction * 100);
                for (int i = 0; i < 4; ++i)
                    if (name == stages[i])
                        stage = i;
            });
        } catch (...) {
            error = std::current_exception();
        }
        finished = true;
    });
    QEventLoop loop;
    QTimer timer;
    const QStringList labels = {tr("Sealing the new key to every user..."),
                                tr("Rewriting every page under the new key..."),
                                tr("Writing the store..."), tr("Done")};
    connect(&timer, &QTimer::timeout, &loop, [&] {
        dialog.setValue(percent);
        dialog.setLabelText(title + "\n" + labels[stage]);
        if (finished)
            loop.quit();
    });
    timer.start(50);
    loop.exec();
    worker.join();
    emit sessionInUse(false);
    dialog.setValue(100);
    dialog.close();

    refresh();
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            report(q(e.what()), true);
        }
        return;
    }
    QString message = tr("%1: key version %2, %3 MB rewritten in %4 s.")
                          .arg(done)
                          .arg(result.keyVersion)
                          .arg(double(result.databaseBytes) / 1e6, 0, 'f', 1)
                          .arg(result.seconds, 0, 'f', 1);
    for (const auto& name : result.usersLeftOut)
        message += tr(" %1 cannot open the store until given a new password.").arg(q(name));
    report(message, false);
    if (!result.newRecoveryKey.empty()) {
        const std::string hex = result.newRecoveryKey.toHex();
        QString grouped;
        for (std::size_t i = 0; i < hex.size(); i += 8)
            grouped += (i ? "-" : "") + q(hex.substr(i, 8));
        QMessageBox box(QMessageBox::Warning, tr("New recovery key"),
                        tr("The store's old recovery key opens nothing now. Print this new one, "
                           "keep it offline; it is shown once:\n\n%1")
                            .arg(grouped),
                        QMessageBox::Ok, this);
        box.setObjectName("newRecoveryKeyBox");
        box.setTextInteractionFlags(Qt::TextSelectableByMouse);
        box.exec();
    }
}

void AdminPanel::assignStudy() {
    if (assignUser_->currentIndex() < 0 || assignStudy_->currentIndex() < 0) {
        report(tr("Choose an annotator and a study."), true);
        return;
    }
    try {
        admin_.assignStudy(assignUser_->currentText().toStdString(),
                           assignStudy_->currentData().toLongLong());
        showAuditLog();
        report(tr("Study %1 assigned to %2.")
                   .arg(assignStudy_->currentText(), assignUser_->currentText()),
               false);
    } catch (const std::exception& e) {
        report(q(e.what()), true);
    }
}

void AdminPanel::showAuditLog() {
    storage::AuditFilter filter;
    if (!filterUser_->text().trimmed().isEmpty())
        filter.user = filterUser_->text().trimmed().toStdString();
    if (!filterAction_->currentText().isEmpty())
        filter.action = filterAction_->currentText().toStdString();
    filter.since = filterSince_->date().toString("yyyy-MM-dd").toStdString();
    try {
        const auto entries = admin_.auditEntries(filter);
        audit_->setRowCount(int(entries.size()));
        for (int i = 0; i < int(entries.size()); ++i) {
            const auto& e = entries[std::size_t(i)];
            setRow(audit_, i,
                   {QString::number(e.seq), q(e.time), q(e.user), q(e.action), q(e.object),
                    q(e.details)});
        }
    } catch (const std::exception& e) {
        audit_->setRowCount(0);
        report(q(e.what()), true);
    }
}

void AdminPanel::verifyAuditLog() {
    try {
        storage::SecureBytes key;
        if (!auditKeyFile_->text().isEmpty()) {
            QFile file(auditKeyFile_->text());
            if (!file.open(QIODevice::ReadOnly))
                throw storage::InvalidRequestError("cannot read the audit key file");
            QByteArray text = file.readAll();
            key = storage::SecureBytes::fromHex(text.trimmed().toStdString(), 32);
            text.fill('\0');
            if (key.empty())
                throw storage::InvalidRequestError("the audit key file does not hold a key");
        }
        std::optional<storage::Checkpoint> checkpoint;
        if (!checkpointFile_->text().isEmpty()) {
            QFile file(checkpointFile_->text());
            if (!file.open(QIODevice::ReadOnly))
                throw storage::InvalidRequestError("cannot read the checkpoint file");
            checkpoint = storage::Checkpoint::fromJson(file.readAll().toStdString());
        }
        const auto v = admin_.verifyAuditLog(key.empty() ? nullptr : &key,
                                             checkpoint ? &*checkpoint : nullptr);
        showAuditLog();
        // The anchors outside the store (the policy's anchor file), and its lines that are
        // damaged: a site's IT looks at the system log when there are any.
        QString anchored;
        if (v.anchorsChecked)
            anchored = tr(", matches the anchors outside the store (%1 checkpoints, %2 entries, "
                          "up to entry %3)")
                           .arg(v.anchorCheckpoints)
                           .arg(v.anchorEntries)
                           .arg(v.anchoredSize);
        if (v.anchorLinesDamaged)
            anchored += v.anchorLinesDamaged == 1
                            ? tr("; 1 anchor line could not be read")
                            : tr("; %1 anchor lines could not be read").arg(v.anchorLinesDamaged);
        if (v.ok)
            report(tr("Access log verified: %1 entries, hash chain ok%2%3%4.")
                       .arg(v.entriesChecked)
                       .arg(v.macsChecked ? tr(", every MAC ok")
                                          : tr(", MACs not checked (no audit key)"))
                       .arg(v.checkpointChecked ? tr(", matches the checkpoint") : QString())
                       .arg(anchored),
                   false);
        else
            report(tr("Access log verification FAILED%1: %2")
                       .arg(v.firstBadSeq ? tr(" at entry %1").arg(v.firstBadSeq) : QString(),
                            q(v.reason)),
                   true);
    } catch (const std::exception& e) {
        report(q(e.what()), true);
    }
}

} // namespace radmark::gui
