#pragma once
// Driving a dialog as a person does, shared by the GUI tests that work the admin's dialogs
// (tests/gui, tests/threat): a named child found or the test told, a click, a tab picked by its
// title, a field retyped, and a guard that closes a dialog a failed step left open.

#include <QCheckBox>
#include <QDialog>
#include <QTabBar>
#include <QTabWidget>
#include <QTest>
#include <QWidget>
#include <gtest/gtest.h>

namespace radmark::testing {

// Closes a dialog that a failed step left open, so a failure never hangs the test.
struct RejectIfOpen {
    QDialog* dialog;
    ~RejectIfOpen() {
        if (dialog && dialog->isVisible())
            dialog->reject();
    }
};

inline void click(QWidget* widget) {
    ASSERT_NE(widget, nullptr);
    QTest::mouseClick(widget, Qt::LeftButton);
}

// Clicks a check box on its box (a click on its text is not a toggle on every style).
inline void clickBox(QCheckBox* box) {
    ASSERT_NE(box, nullptr);
    QTest::mouseClick(box, Qt::LeftButton, Qt::NoModifier, QPoint(8, box->height() / 2));
}

template <class T> T* child(QWidget* parent, const char* name) {
    T* found = parent->findChild<T*>(QString::fromLatin1(name));
    EXPECT_NE(found, nullptr) << name;
    return found;
}

inline void clickTab(QTabWidget* tabs, const QString& title) {
    QTabBar* bar = tabs->tabBar();
    for (int i = 0; i < bar->count(); ++i)
        if (bar->tabText(i) == title) {
            QTest::mouseClick(bar, Qt::LeftButton, Qt::NoModifier, bar->tabRect(i).center());
            break;
        }
    EXPECT_EQ(tabs->tabText(tabs->currentIndex()), title);
}

// Replaces the text of a field as a person does: select all, type.
inline void retype(QWidget* field, const QString& text) {
    field->setFocus();
    QTest::keyClick(field, Qt::Key_A, Qt::ControlModifier);
    if (text.isEmpty())
        QTest::keyClick(field, Qt::Key_Delete);
    QTest::keyClicks(field, text);
}

} // namespace radmark::testing
