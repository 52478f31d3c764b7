import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TemplateLibrary, compileTemplate, escapeHtml, renderTemplateText, trustedHtml } from "./template.ts";

describe("renderTemplateText", () => {
  it("escapes every value, so provider data can never become markup", () => {
    const hostile = `<img src="http://evil.example/x" onerror='alert(1)'>&`;
    expect(renderTemplateText("<p>{{description}}</p>", { description: hostile })).toBe(
      "<p>&lt;img src=&quot;http://evil.example/x&quot; onerror=&#39;alert(1)&#39;&gt;&amp;</p>",
    );
  });

  it("inserts markup unescaped only from a TrustedHtml value", () => {
    expect(renderTemplateText("<div>{{chart}}</div>", { chart: trustedHtml("<svg></svg>") })).toBe(
      "<div><svg></svg></div>",
    );
  });

  it("renders numbers, dotted names and the current item", () => {
    expect(
      renderTemplateText("{{a.b}}-{{n}}-{{#list}}[{{.}}]{{/list}}", {
        a: { b: "x" },
        n: 3,
        list: ["p", "q"],
      }),
    ).toBe("x-3-[p][q]");
  });

  it("renders sections per item, once for true or an object, never for false or empty", () => {
    const view = {
      items: [{ name: "a" }, { name: "b" }],
      yes: true,
      no: false,
      empty: [],
      object: { inner: "i" },
      blank: "",
    };
    expect(renderTemplateText("{{#items}}{{name}},{{/items}}", view)).toBe("a,b,");
    expect(
      renderTemplateText("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{#empty}}E{{/empty}}{{#blank}}B{{/blank}}", view),
    ).toBe("Y");
    expect(renderTemplateText("{{#object}}{{inner}}{{/object}}", view)).toBe("i");
    expect(renderTemplateText("{{^no}}not{{/no}}{{^empty}} empty{{/empty}}{{^yes}}X{{/yes}}", view)).toBe(
      "not empty",
    );
  });

  it("looks names up through enclosing sections", () => {
    expect(
      renderTemplateText("{{#rows}}{{label}}@{{title}};{{/rows}}", {
        title: "T",
        rows: [{ label: "a" }, { label: "b" }],
      }),
    ).toBe("a@T;b@T;");
  });

  it("includes partials with the same view", () => {
    expect(renderTemplateText("<h1>{{> head}}</h1>", { title: "x<y" }, { head: "T: {{title}}" })).toBe(
      "<h1>T: x&lt;y</h1>",
    );
  });

  it("drops comments", () => {
    expect(renderTemplateText("a{{! why this is here }}b", {})).toBe("ab");
  });

  it("refuses a name the view does not have, naming the template line", () => {
    expect(() => renderTemplateText("line one\n{{missing}}", {})).toThrow(
      /<inline>:2: the view has no field "missing"/,
    );
  });

  it("refuses a missing value in a variable slot instead of printing a blank", () => {
    expect(() => renderTemplateText("{{value}}", { value: undefined })).toThrow(
      /"value" is undefined, not text/,
    );
    expect(() => renderTemplateText("{{value}}", { value: { nested: 1 } })).toThrow(/not text/);
  });

  it("refuses unbalanced sections when compiling", () => {
    expect(() => compileTemplate("t", "{{#a}}x")).toThrow(/never closed/);
    expect(() => compileTemplate("t", "{{#a}}x{{/b}}")).toThrow(/closes \{\{#a\}\}/);
    expect(() => compileTemplate("t", "{{/a}}")).toThrow(/closes nothing/);
  });

  it("escapes the five HTML-significant characters", () => {
    expect(escapeHtml(`&<>"'`)).toBe("&amp;&lt;&gt;&quot;&#39;");
  });
});

describe("TemplateLibrary", () => {
  let directory: string | undefined;
  afterEach(async () => {
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  it("loads a template and its partials (including CSS) from the directory", async () => {
    directory = await mkdtemp(join(tmpdir(), "keyproof-templates-"));
    await mkdir(join(directory, "pages"));
    await mkdir(join(directory, "styles"));
    await writeFile(
      join(directory, "pages", "one.html"),
      "<style>{{> styles/site.css}}</style>{{> pages/part}}",
    );
    await writeFile(join(directory, "pages", "part.html"), "<b>{{name}}</b>");
    await writeFile(join(directory, "styles", "site.css"), "b { color: red; }");
    const library = new TemplateLibrary(directory);
    expect(await library.render("pages/one.html", { name: "N" })).toBe(
      "<style>b { color: red; }</style><b>N</b>",
    );
  });

  it("reports an include cycle instead of waiting forever", async () => {
    directory = await mkdtemp(join(tmpdir(), "keyproof-templates-"));
    await writeFile(join(directory, "a.html"), "{{> b}}");
    await writeFile(join(directory, "b.html"), "{{> a}}");
    await expect(new TemplateLibrary(directory).render("a", {})).rejects.toThrow(
      /include cycle: a.html > b.html > a.html/,
    );
  });

  it("renders every shipped template's partials without error", async () => {
    const library = new TemplateLibrary();
    // A template that only includes the shared head: proves the real templates/ directory resolves.
    await expect(library.render("partials/screenshot-head.html", {})).resolves.toContain("font-family");
  });
});
