// Package chapters holds the teaching text; its test checks that every file and symbol the chapters name exists.
package chapters
